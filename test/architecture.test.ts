import { join } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Supervisor, SupervisorEvent } from '../src/index.js';
import { createSupervisor } from '../src/index.js';
import { cyclesOf, type Import, importsOf, inSrc, SRC, sourceFiles } from './helpers/imports.js';

// The layout docs/design.md's "Architecture" describes, checked on the sources themselves.

/**
 * The layers, lowest first: a file may import (values or types) from its own folder, from a
 * lower layer, and, inside the core layer only, from the layer's other folders. A name is a
 * folder of src/ or a file directly in it.
 */
const LAYERS: readonly (readonly string[])[] = [
  // the wire protocol, shared by the server and the browser; imports nothing
  ['protocol.ts'],
  // the core: machines, actors, store and the factory that wires them; knows no socket.io
  ['machines', 'actors', 'store', 'core'],
  // the socket.io adapter (reaches the core through internalsOf) and the browser helper
  ['server', 'client'],
  // the composition: the core with the adapter's attach()
  ['createSupervisor.ts'],
  // entries built on a whole supervisor
  ['testing', 'cluster'],
  // entries that accept a single-node or a cluster supervisor
  ['inspector', 'metrics'],
  // the main entry
  ['index.ts'],
];
const CORE_LAYER = LAYERS[1]!;

/** `core`, `machines`, ... for a file in a folder of src/; the file's own name directly in src/. */
const partOf = (file: string): string => inSrc(file).split('/')[0]!;
const layerOf = (part: string): number => LAYERS.findIndex((layer) => layer.includes(part));

const show = (edge: Import) => `${inSrc(edge.file)} imports ${edge.specifier}${edge.typeOnly ? ' (types)' : ''}`;

describe('architecture', () => {
  const files = sourceFiles();
  const all = files.flatMap(importsOf);
  const local = all.filter((edge): edge is Import & { target: string } => edge.target !== null);

  function graphOf(edges: ReadonlyArray<Import & { target: string }>): Map<string, string[]> {
    const graph = new Map<string, string[]>(files.map((file) => [file, []]));
    for (const edge of edges) graph.get(edge.file)!.push(edge.target);
    return graph;
  }

  it('should resolve every local import to a source file', () => {
    const known = new Set(files);
    expect(local.filter((edge) => !known.has(edge.target)).map(show)).toEqual([]);
  });

  it('should have no value-import cycles', () => {
    const values = local.filter((edge) => !edge.typeOnly && !edge.dynamic);
    expect(files.length).toBeGreaterThan(20);
    expect(values.length).toBeGreaterThan(100);
    expect(cyclesOf(graphOf(values), inSrc)).toEqual([]);
  });

  it('should have no type-level import cycles either (between files)', () => {
    expect(cyclesOf(graphOf(local), inSrc)).toEqual([]);
  });

  it("should keep the cluster's Redis layer (cluster/redis/) free of the node layer: its own files and the core only", () => {
    const redis = local.filter((edge) => inSrc(edge.file).startsWith('cluster/redis/'));
    expect(redis.length).toBeGreaterThan(30);
    const offending = redis.filter(
      (edge) => !inSrc(edge.target).startsWith('cluster/redis/') && !CORE_LAYER.includes(partOf(edge.target)),
    );
    expect(offending.map(show)).toEqual([]);
    // and the node layer reaches Redis only through it: no file outside cluster/redis/ loads node-redis
    const outside = all.filter(
      (edge) => !inSrc(edge.file).startsWith('cluster/redis/') && /^(redis|@redis\/)/.test(edge.specifier),
    );
    expect(outside.map(show)).toEqual([]);
  });

  it('should layer the folders: nothing imports from a higher layer, values or types', () => {
    expect(LAYERS.flat().sort()).toEqual([...new Set(files.map(partOf))].sort());
    const upward = local.filter((edge) => {
      const from = partOf(edge.file);
      const to = partOf(edge.target);
      if (from === to) return false;
      const [a, b] = [layerOf(from), layerOf(to)];
      return b > a || (b === a && a !== layerOf(CORE_LAYER[0]!));
    });
    expect(upward.map(show)).toEqual([]);
  });

  it('should keep the core, machines, store and actors from importing any adapter or entry', () => {
    const forbidden = /^(server|client|cluster|inspector|metrics|testing)\/|^(createSupervisor|index)\.ts$/;
    const offending = local.filter(
      (edge) => CORE_LAYER.includes(partOf(edge.file)) && forbidden.test(inSrc(edge.target)),
    );
    expect(local.filter((edge) => CORE_LAYER.includes(partOf(edge.file))).length).toBeGreaterThan(50);
    expect(offending.map(show)).toEqual([]);
  });

  it('should keep socket.io and node:http out of the core and the machines', () => {
    const offending = all.filter(
      (edge) =>
        CORE_LAYER.includes(partOf(edge.file)) &&
        (/^socket\.io/.test(edge.specifier) || edge.specifier === 'node:http' || edge.specifier === 'http') &&
        // the core names socket.io's DisconnectReason in its vocabulary (reusing socket.io's reasons),
        // never its code
        !(edge.typeOnly && inSrc(edge.file) === 'core/types.ts'),
    );
    expect(offending.map(show)).toEqual([]);
  });

  it('should keep the wire protocol free of any import', () => {
    expect(importsOf(join(SRC, 'protocol.ts')).map(show)).toEqual([]);
  });

  it('should keep the browser helper free of server code: its own files, the wire protocol, socket.io-client types', () => {
    const offending = all.filter(
      (edge) =>
        partOf(edge.file) === 'client' &&
        !(
          edge.specifier.startsWith('./') ||
          edge.specifier === '../protocol.js' ||
          (edge.typeOnly && edge.specifier === 'socket.io-client')
        ),
    );
    expect(all.filter((edge) => partOf(edge.file) === 'client').length).toBeGreaterThan(3);
    expect(offending.map(show)).toEqual([]);
  });

  it('should keep optional peers (prom-client, redis) out of the main entry', () => {
    const reached = new Set<string>();
    const walk = (file: string) => {
      if (reached.has(file)) return;
      reached.add(file);
      for (const edge of importsOf(file)) if (edge.target) walk(edge.target);
    };
    walk(join(SRC, 'index.ts'));
    const peers = [...reached]
      .flatMap(importsOf)
      .filter((edge) => /^(prom-client|redis|@redis\/)/.test(edge.specifier));
    expect(peers.map(show)).toEqual([]);
    expect([...reached].map(inSrc).filter((file) => /^(inspector|metrics|cluster|testing)\//.test(file))).toEqual([]);
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
