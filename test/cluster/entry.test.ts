import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf, inRepo, ROOT as root, SRC, sourceFiles } from '../helpers/imports.js';

describe('the cluster entry point', () => {
  it('should stay out of the main entry: nothing outside src/cluster loads it or node-redis', () => {
    const outside = sourceFiles(SRC).filter((file) => !file.includes(join('src', 'cluster')));
    const found = outside.flatMap(importsOf);
    expect(found.filter(({ specifier }) => specifier === 'xstate').length).toBeGreaterThan(0);
    for (const { file, specifier: spec, typeOnly } of found) {
      const where = inRepo(file);
      // the inspector and the metrics accept a cluster node: they name its type, erased at runtime
      const namesTheType =
        typeOnly && /^src\/(inspector|metrics)\//.test(where) && spec === '../cluster/clusterSupervisor.js';
      if (!namesTheType) expect(spec, where).not.toMatch(/cluster|^redis$|^@redis\//);
    }
  });

  it('should load node-redis only when it creates a connection itself (an optional peer)', () => {
    const found = sourceFiles(join(SRC, 'cluster'))
      .flatMap(importsOf)
      .filter(({ specifier }) => specifier === 'redis' || specifier.startsWith('@redis/'));
    expect(found.length).toBeGreaterThan(0);
    for (const { file, typeOnly, dynamic } of found) expect(typeOnly || dynamic, inRepo(file)).toBe(true);
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
