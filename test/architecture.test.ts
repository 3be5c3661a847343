import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Supervisor, SupervisorEvent } from '../src/index.js';
import { createSupervisor } from '../src/index.js';

// The layout DESIGN.md's "Architecture" asks for, checked on the sources themselves.

const SRC = resolve('src');

function sources(dir = SRC): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

interface Import {
  from: string;
  specifier: string;
  typeOnly: boolean;
}

/** Every import and re-export of a file, with whether it is erased at runtime (`import type`). */
function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const found: Import[] = [];
  const pattern = /^(import|export)\s+(type\s+)?([^;]*?)\s+from\s+'([^']+)';/gms;
  for (const match of text.matchAll(pattern)) {
    const names = match[3]!;
    // `import { type A, type B }` is erased too when every name is a type
    const inlineTypesOnly =
      /^\{[^}]*\}$/s.test(names.trim()) &&
      names
        .replace(/[{}\s]/g, '')
        .split(',')
        .every((n) => n === '' || n.startsWith('type'));
    found.push({ from: file, specifier: match[4]!, typeOnly: Boolean(match[2]) || inlineTypesOnly });
  }
  return found;
}

function resolveLocal(from: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  return resolve(from, '..', specifier.replace(/\.js$/, '.ts'));
}

const rel = (path: string) => relative(SRC, path);

describe('architecture', () => {
  const files = sources();
  const all = files.flatMap(importsOf);

  it('should have no value-import cycles', () => {
    const graph = new Map<string, string[]>();
    for (const file of files) graph.set(file, []);
    for (const edge of all) {
      const target = edge.typeOnly ? null : resolveLocal(edge.from, edge.specifier);
      if (target) graph.get(edge.from)!.push(target);
    }
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(file)), file].map(rel).join(' → '));
        return;
      }
      state.set(file, 'visiting');
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    expect(files.length).toBeGreaterThan(20);
    expect(cycles).toEqual([]);
  });

  it('should keep socket.io and node:http out of the core and the machines', () => {
    const offending = all.filter(
      (edge) =>
        /^src\/(core|machines|store|actors)\//.test(`src/${rel(edge.from)}`) &&
        (/^socket\.io/.test(edge.specifier) || edge.specifier === 'node:http' || edge.specifier === 'http') &&
        // the core names socket.io's types (its DisconnectReason, the Server it attaches to), never its code
        !(edge.typeOnly && rel(edge.from).startsWith('core/')),
    );
    expect(offending.map((edge) => `${rel(edge.from)} imports ${edge.specifier}`)).toEqual([]);
  });

  it('should keep the browser helper free of server code', () => {
    const offending = all.filter(
      (edge) =>
        rel(edge.from).startsWith('client/') &&
        !(edge.specifier.startsWith('./') || (edge.typeOnly && edge.specifier === 'socket.io-client')),
    );
    expect(offending.map((edge) => `${rel(edge.from)} imports ${edge.specifier}`)).toEqual([]);
  });

  it('should keep optional peers (prom-client, redis) out of the main entry', () => {
    const reached = new Set<string>();
    const walk = (file: string) => {
      if (reached.has(file)) return;
      reached.add(file);
      for (const edge of importsOf(file)) {
        const target = resolveLocal(file, edge.specifier);
        if (target) walk(target);
      }
    };
    walk(join(SRC, 'index.ts'));
    const peers = [...reached]
      .flatMap(importsOf)
      .filter((edge) => /^(prom-client|redis|@redis\/)/.test(edge.specifier));
    expect(peers.map((edge) => `${rel(edge.from)} imports ${edge.specifier}`)).toEqual([]);
    expect([...reached].map(rel).filter((file) => /^(inspector|metrics|cluster|testing)\//.test(file))).toEqual([]);
  });

  it('should publish a Supervisor without internals or a store, and only the DESIGN events', async () => {
    expectTypeOf<Supervisor>().not.toHaveProperty('internals');
    expectTypeOf<Supervisor>().not.toHaveProperty('store');
    expectTypeOf<SupervisorEvent['type']>().toEqualTypeOf<
      'socket.handshake' | 'socket.disconnect' | 'client.delete' | 'client.prune'
    >();
    const supervisor = createSupervisor();
    const reachable = Object.getOwnPropertyNames(supervisor);
    expect(reachable).not.toContain('internals');
    expect(reachable).not.toContain('store');
    expect(Object.getOwnPropertySymbols(supervisor)).toEqual([]);
    await supervisor.close();
  });
});
