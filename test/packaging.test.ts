import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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
