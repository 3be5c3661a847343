import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/**
 * The one import scanner of the tests that check the sources' structure (the architecture, the
 * cluster and testing entries): every import a file makes, read from its text.
 */

/** The repository's root and its `src/`. */
export const ROOT = resolve(import.meta.dirname, '..', '..');
export const SRC = join(ROOT, 'src');

/** Every `.ts` file under `dir`, recursively. */
export function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

export interface Import {
  /** The importing file (absolute). */
  file: string;
  /** What it imports, as written. */
  specifier: string;
  /** The imported file (absolute, `.ts`) for a relative specifier, else `null`. */
  target: string | null;
  /**
   * Erased at runtime: `import type`, `export type`, `typeof import()`. Not `import { type A }`:
   * with `verbatimModuleSyntax` it compiles to `import {} from '...'`, which still loads the module.
   */
  typeOnly: boolean;
  /** An `import()` call (loaded when it runs, not with the module). */
  dynamic: boolean;
}

// statements at the start of a line (not the generated source in recordingToTest's strings), and
// import() calls, `typeof import()` being a type
const IMPORT = /^(?:import|export)\s+(type\s+)?[^'";]*?\s*from\s+'([^']+)'|(typeof\s+)?\bimport\(\s*'([^']+)'\s*\)/gm;

/** Every import, re-export and `import()` of a file. */
export function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((match) => {
    const dynamic = match[4] !== undefined;
    const specifier = (dynamic ? match[4] : match[2])!;
    return {
      file,
      specifier,
      target: specifier.startsWith('.') ? resolve(file, '..', specifier.replace(/\.js$/, '.ts')) : null,
      typeOnly: dynamic ? match[3] !== undefined : match[1] !== undefined,
      dynamic: dynamic && match[3] === undefined,
    };
  });
}

/** A path relative to `src/` (`core/types.ts`), for messages and rules. */
export const inSrc = (path: string): string => relative(SRC, path);

/** A path relative to the repository (`src/core/types.ts`). */
export const inRepo = (path: string): string => relative(ROOT, path);

/**
 * The cycles of a graph of files, one per strongly connected component of two or more files
 * (or a file that imports itself), each as its files sorted, joined by ' ⇄ '.
 */
export function cyclesOf(graph: ReadonlyMap<string, readonly string[]>, name: (file: string) => string): string[] {
  // Tarjan's algorithm
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[] = [];
  const visit = (file: string): void => {
    index.set(file, next);
    low.set(file, next);
    next += 1;
    stack.push(file);
    onStack.add(file);
    for (const to of graph.get(file) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(file, Math.min(low.get(file)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(file, Math.min(low.get(file)!, index.get(to)!));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || graph.get(file)?.includes(file)) {
      cycles.push(component.map(name).sort().join(' ⇄ '));
    }
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return cycles.sort();
}
