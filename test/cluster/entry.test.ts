import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

const IMPORT = /(?:import|export)\s[^'";]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g;

function imports(file: string): Array<{ spec: string; typeOnly: boolean; dynamic: boolean }> {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((match) => ({
    spec: match[1] ?? match[2] ?? '',
    typeOnly: /^(?:import|export)\s+type\s/.test(match[0]),
    dynamic: match[2] !== undefined,
  }));
}

describe('the cluster entry point', () => {
  it('should stay out of the main entry: nothing outside src/cluster loads it or node-redis', () => {
    const outside = sources(join(root, 'src')).filter((file) => !file.includes(join('src', 'cluster')));
    const found = outside.flatMap((file) => imports(file).map((found) => ({ file, ...found })));
    expect(found.filter(({ spec }) => spec === 'xstate').length).toBeGreaterThan(0);
    for (const { file, spec, typeOnly } of found) {
      const where = relative(root, file);
      // the inspector and the metrics accept a cluster node: they name its type, erased at runtime
      const namesTheType =
        typeOnly && /^src\/(inspector|metrics)\//.test(where) && spec === '../cluster/clusterTypes.js';
      if (!namesTheType) expect(spec, where).not.toMatch(/cluster|^redis$|^@redis\//);
    }
  });

  it('should load node-redis only when it creates a connection itself (an optional peer)', () => {
    const found = sources(join(root, 'src', 'cluster')).flatMap((file) =>
      imports(file)
        .filter(({ spec }) => spec === 'redis' || spec.startsWith('@redis/'))
        .map((found) => ({ file, ...found })),
    );
    expect(found.length).toBeGreaterThan(0);
    for (const { file, typeOnly, dynamic } of found) expect(typeOnly || dynamic, relative(root, file)).toBe(true);
  });

  it('should be exported as socket.io-supervisor/cluster, with redis an optional peer', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(pkg.exports['./cluster']).toEqual({
      types: './dist/cluster/index.d.ts',
      import: './dist/cluster/index.js',
      default: './dist/cluster/index.js',
    });
    expect(pkg.peerDependencies.redis).toMatch(/^\^6\./);
    expect(pkg.peerDependenciesMeta.redis).toEqual({ optional: true });
  });
});
