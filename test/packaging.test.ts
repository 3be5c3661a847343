import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// What npm gets: the manifest, the license, a README that works on the npm page.

const root = new URL('..', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));

describe('package', () => {
  it('should resolve every entry point for require() and bundlers as well as import (a default condition)', () => {
    const require = createRequire(new URL('package.json', root));
    for (const [entry, target] of Object.entries<Record<string, string> | string>(manifest.exports)) {
      if (typeof target === 'string') continue;
      expect(Object.keys(target), entry).toEqual(['types', 'import', 'default']);
      const specifier = entry === '.' ? manifest.name : `${manifest.name}${entry.slice(1)}`;
      expect(require.resolve(specifier), entry).toMatch(/dist\/.*index\.js$/);
    }
  });

  it('should claim only the Node versions whose require() loads it (require(esm): 20.19+, 22.12+)', () => {
    // ESM only, on purpose: a CommonJS copy beside it would be a second package at run time, with
    // its own module-internal state (a supervisor made by one copy is unknown to the other's
    // inspector and metrics); require() of ES modules is on by default from Node 20.19 and 22.12
    expect(manifest.engines).toEqual({ node: '^20.19.0 || >=22.12.0' });
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
    expect(major === 20 ? minor >= 19 : major >= 22 && (major > 22 || minor >= 12), process.version).toBe(true);
  });

  it('should load every entry point with require() from a CommonJS file, in a child process', () => {
    const dir = mkdtempSync(join(fileURLToPath(new URL('test-results/', root)), 'require-'));
    try {
      const entries = Object.keys(manifest.exports).filter((entry) => entry !== './package.json');
      const names = entries.map((entry) => (entry === '.' ? manifest.name : `${manifest.name}${entry.slice(1)}`));
      const file = join(dir, 'probe.cjs');
      writeFileSync(
        file,
        [
          "'use strict';",
          `const names = ${JSON.stringify(names)};`,
          'const loaded = {};',
          'for (const name of names) loaded[name] = Object.keys(require(name)).sort();',
          `const { createSupervisor } = require('${manifest.name}');`,
          'const supervisor = createSupervisor({ pruneInterval: 0 });',
          'loaded.registered = supervisor.register().clientId.length;',
          'supervisor.close().then(() => process.stdout.write(JSON.stringify(loaded)));',
        ].join('\n'),
      );
      // resolved from the repository as the package names itself (its own exports map, dist/)
      const run = (flags: string[]) =>
        execFileSync(process.execPath, [...flags, file], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
      const loaded = JSON.parse(run([])) as Record<string, string[] | number>;
      expect(loaded.registered).toBe(22);
      for (const name of names) expect((loaded[name] as string[]).length, name).toBeGreaterThan(0);
      expect(loaded[manifest.name]).toContain('createSupervisor');
      expect(loaded[`${manifest.name}/cluster`]).toContain('createClusterSupervisor');
      // what the version floor is for: without require(esm) the same file cannot load it
      expect(() => run(['--no-experimental-require-module'])).toThrow(/ERR_REQUIRE_ESM/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('should build when packed, never when installed', () => {
    expect(manifest.scripts.prepare).toBeUndefined();
    expect(manifest.scripts.postinstall).toBeUndefined();
    expect(manifest.scripts.prepack).toBe('npm run build');
    // the demo serves dist/client: npm start builds first; npm test too (pretest)
    expect(manifest.scripts.start).toMatch(/^npm run build && /);
    expect(manifest.scripts.pretest).toMatch(/npm run build/);
  });

  it('should name its license and repository', () => {
    expect(manifest.license).toBe('MIT');
    expect(readFileSync(new URL('LICENSE', root), 'utf8')).toMatch(
      /^MIT License\n\nCopyright \(c\) \d{4} socket\.io-supervisor contributors/,
    );
    expect(manifest.repository.url).toMatch(/^git\+https:\/\/github\.com\/.+\.git$/);
  });

  it("should link the README's images and files absolutely, so they work on the npm page", () => {
    const readme = readFileSync(new URL('README.md', root), 'utf8');
    const targets = [...readme.matchAll(/!?\[[^\]]*\]\(([^)\s]+)[^)]*\)/g)].map((m) => m[1]!);
    expect(targets.length).toBeGreaterThan(0);
    const relative = targets.filter((target) => !/^(https:\/\/|#)/.test(target));
    expect(relative).toEqual([]);
  });
});
