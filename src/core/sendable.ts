/** Deepest nesting of a message argument that is checked (and sent). */
const MAX_DEPTH = 64;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? `a ${name}` : 'an object';
}

function isBinary(value: object): value is ArrayBufferView | ArrayBuffer {
  return ArrayBuffer.isView(value) || value instanceof ArrayBuffer;
}

/**
 * Checks that `args` are what socket.io can send faithfully (JSON values, with binary data
 * anywhere in them) and returns their approximate encoded size in bytes (what the outbox's
 * `maxBytes` counts), in one walk. Throws a `TypeError` naming the argument and the path of
 * what cannot be sent: a function, a symbol, a BigInt, a cycle, a Map or Set (JSON sends them
 * as `{}`), `undefined` in an array, nesting deeper than 64; with `binary: false` (cluster mode,
 * whose outbox is JSON in Redis), binary data too.
 */
export function sendableSize(args: readonly unknown[], options?: { binary: boolean }): number {
  const stack = new Set<object>();
  function walk(value: unknown, path: string, depth: number): number {
    switch (typeof value) {
      case 'string':
        return value.length + 2;
      case 'number':
        return Number.isFinite(value) ? 8 : 4; // JSON sends NaN and ±Infinity as null
      case 'boolean':
        return 5;
      case 'undefined':
        return 0;
      case 'function':
      case 'symbol':
      case 'bigint':
        throw new TypeError(`${path} is ${describe(value)}, which socket.io cannot send`);
    }
    if (value === null) return 4;
    const object = value as object;
    if (isBinary(object)) {
      if (options?.binary === false) {
        throw new TypeError(
          `${path} is binary data (${describe(object)}), which cluster mode cannot keep in its Redis outbox (JSON): encode it first, as base64 for example`,
        );
      }
      return object.byteLength + 16;
    }
    if (depth >= MAX_DEPTH) throw new TypeError(`${path} is nested deeper than ${MAX_DEPTH} levels`);
    if (stack.has(object)) throw new TypeError(`${path} refers back to itself (a cycle)`);
    if (object instanceof Map || object instanceof Set || object instanceof WeakMap || object instanceof WeakSet) {
      throw new TypeError(`${path} is ${describe(object)}, which JSON sends as {}: convert it to an array or object`);
    }
    if (typeof (object as { toJSON?: unknown }).toJSON === 'function') {
      // a Date and the like: sent as what toJSON returns
      return walk((object as { toJSON(): unknown }).toJSON(), path, depth + 1);
    }
    stack.add(object);
    let size = 2;
    if (Array.isArray(object)) {
      object.forEach((item, index) => {
        if (item === undefined) throw new TypeError(`${path}[${index}] is undefined, which JSON sends as null`);
        size += walk(item, `${path}[${index}]`, depth + 1) + 1;
      });
    } else {
      for (const key of Object.keys(object)) {
        size += key.length + 4 + walk((object as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
      }
    }
    stack.delete(object);
    return size;
  }
  let total = 0;
  args.forEach((arg, index) => {
    total += walk(arg, `argument ${index + 1}`, 0);
  });
  return total;
}
