import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf, inRepo, ROOT as root, SRC, sourceFiles } from '../helpers/imports.js';

// socket.io-supervisor/testing: its own entry, fast-check only where it is needed, no test runner.

/** Every import of these files, named by file (from the repository) and specifier. */
const importsIn = (files: string[]) =>
  files.flatMap(importsOf).map((found) => ({ ...found, file: inRepo(found.file), spec: found.specifier }));

const testing = importsIn(sourceFiles(join(SRC, 'testing')));

describe('the testing entry point', () => {
  it('should stay out of every other entry: nothing outside src/testing imports it but the self-contained recordingToTest', () => {
    const outside = importsIn(sourceFiles(SRC).filter((file) => !file.includes(join('src', 'testing'))));
    expect(outside.length).toBeGreaterThan(50);
    // the inspector's "export as test" turns a history into a file with recordingToTest, which
    // imports at runtime only the replay planned beside it, and that nothing (checked below); the
    // kit itself and fast-check stay out
    expect(
      outside.filter(({ spec }) => /testing|^fast-check$/.test(spec) && !/testing\/recordingToTest\.js$/.test(spec)),
    ).toEqual([]);
    const recorder = testing.filter(({ file }) => file === 'src/testing/recordingToTest.ts');
    expect(recorder.length).toBeGreaterThan(0);
    expect(recorder.filter(({ typeOnly }) => !typeOnly).map(({ spec }) => spec)).toEqual(['./replayPlan.js']);
    const replay = testing.filter(({ file }) => file === 'src/testing/replayPlan.ts');
    expect(replay.length).toBeGreaterThan(0);
    expect(replay.filter(({ typeOnly }) => !typeOnly)).toEqual([]);
  });

  it('should load fast-check only when hookOrderings runs (an optional peer)', () => {
    const fastCheck = testing.filter(({ spec }) => spec === 'fast-check');
    expect(new Set(fastCheck.map(({ file }) => file))).toEqual(new Set(['src/testing/hookOrderings.ts']));
    expect(fastCheck.filter(({ dynamic }) => dynamic)).toHaveLength(1);
    expect(fastCheck.filter(({ typeOnly, dynamic }) => !typeOnly && !dynamic)).toEqual([]);
  });

  it('should depend on no test runner', () => {
    const runners = testing.filter(({ spec }) => /^(vitest|jest|@jest\/|node:test|node:assert|mocha|ava)/.test(spec));
    expect(runners).toEqual([]);
    // everything it imports: its own files, the core, xstate (a dependency) and fast-check
    const external = new Set(testing.map(({ spec }) => spec).filter((spec) => !spec.startsWith('.')));
    expect([...external].sort()).toEqual(['fast-check', 'xstate', 'xstate/graph']);
  });

  it('should be exported as socket.io-supervisor/testing, with fast-check an optional peer', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(pkg.exports['./testing']).toEqual({
      types: './dist/testing/index.d.ts',
      import: './dist/testing/index.js',
      default: './dist/testing/index.js',
    });
    expect(pkg.peerDependencies['fast-check']).toBe('^4.2.0');
    expect(pkg.peerDependenciesMeta['fast-check']).toEqual({ optional: true });
    expect(pkg.dependencies['fast-check']).toBeUndefined();
  });
});
