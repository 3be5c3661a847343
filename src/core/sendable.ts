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
  const binary = options?.binary !== false;
  let total = 0;
  for (let index = 0; index < args.length; index += 1) total += argumentSize(args[index], index, binary);
  return total;
}

/** {@link sendableSize} of the argument at `index` alone (to check arguments that are not in an array). */
export function argumentSize(value: unknown, index: number, binary: boolean): number {
  // the fast path: a primitive (a chat line, a counter) needs no walk at all
  const size = primitiveSize(value);
  if (size >= 0) return size;
  try {
    return quickSize(value, 0, binary);
  } catch (error) {
    // what a toJSON() threw is the caller's, as it would be from JSON.stringify
    if (error !== REFUSED) throw error;
  }
  return explainedSize(value, index, binary);
}

/**
 * What the quick walk throws at anything it does not size (a constant: no stack trace is taken);
 * the explaining walk then goes over the argument again to say what and where.
 */
const REFUSED = { refused: true };

/**
 * The walk of arguments that send as they are (issue 21): no path, no set of ancestors, nothing
 * allocated. A cycle needs no set here: it recurses until the depth bound, and the explaining walk
 * tells it from deep nesting. The same sizes and the same refusals as {@link walk}, in its order.
 */
function quickSize(value: unknown, depth: number, binary: boolean): number {
  const size = primitiveSize(value);
  if (size >= 0) return size;
  if (typeof value !== 'object') throw REFUSED;
  const object = value as object;
  const proto: unknown = Object.getPrototypeOf(object);
  // a plain object or an array is neither binary data nor a Map or Set: skip those checks
  if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) {
    if (isBinary(object)) {
      if (!binary) throw REFUSED;
      return object.byteLength + 16;
    }
    if (object instanceof Map || object instanceof Set || object instanceof WeakMap || object instanceof WeakSet)
      throw REFUSED;
  }
  if (depth >= MAX_DEPTH) throw REFUSED;
  if (typeof (object as { toJSON?: unknown }).toJSON === 'function') {
    return quickSize((object as { toJSON(): unknown }).toJSON(), depth + 1, binary);
  }
  let total = 2;
  if (Array.isArray(object)) {
    for (let index = 0; index < object.length; index += 1) {
      if (!(index in object)) continue;
      const item: unknown = object[index];
      if (item === undefined) throw REFUSED;
      total += quickSize(item, depth + 1, binary) + 1;
    }
  } else {
    for (const key in object) {
      if (!Object.hasOwn(object, key)) continue;
      total += key.length + 4 + quickSize((object as Record<string, unknown>)[key], depth + 1, binary);
    }
  }
  return total;
}

/** The size of a sendable primitive, or -1 for anything that needs the walk (objects, and what throws). */
function primitiveSize(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return value.length + 2;
    case 'number':
      return Number.isFinite(value) ? 8 : 4; // JSON sends NaN and ±Infinity as null
    case 'boolean':
      return 5;
    case 'undefined':
      return 0;
    default:
      return value === null ? 4 : -1;
  }
}

/** The objects being walked (to find cycles) and the path to the current value (to name a culprit), for the explaining walk. */
const ancestors: object[] = [];
const segments: Array<string | number> = [];

/** The path of the value being walked, as the error messages name it: `argument 2.user.tags[3]`. */
function currentPath(): string {
  let path = `argument ${(segments[0] as number) + 1}`;
  for (let i = 1; i < segments.length; i += 1) {
    const segment = segments[i]!;
    path += typeof segment === 'number' ? `[${segment}]` : `.${segment}`;
  }
  return path;
}

/** The explaining walk: finds what the quick one refused in the argument at `index` and throws, naming its path. */
function explainedSize(value: unknown, index: number, binary: boolean): number {
  segments.push(index);
  try {
    return walk(value, 0, binary);
  } finally {
    ancestors.length = 0;
    segments.length = 0;
  }
}

function walk(value: unknown, depth: number, binary: boolean): number {
  const size = primitiveSize(value);
  if (size >= 0) return size;
  if (typeof value !== 'object') {
    // a function, a symbol or a BigInt
    throw new TypeError(`${currentPath()} is ${describe(value)}, which socket.io cannot send`);
  }
  const object = value as object;
  if (isBinary(object)) {
    if (!binary) {
      throw new TypeError(
        `${currentPath()} is binary data (${describe(object)}), which cluster mode cannot keep in its Redis outbox (JSON): encode it first, as base64 for example`,
      );
    }
    return object.byteLength + 16;
  }
  if (depth >= MAX_DEPTH) throw new TypeError(`${currentPath()} is nested deeper than ${MAX_DEPTH} levels`);
  if (ancestors.includes(object)) throw new TypeError(`${currentPath()} refers back to itself (a cycle)`);
  if (object instanceof Map || object instanceof Set || object instanceof WeakMap || object instanceof WeakSet) {
    throw new TypeError(
      `${currentPath()} is ${describe(object)}, which JSON sends as {}: convert it to an array or object`,
    );
  }
  if (typeof (object as { toJSON?: unknown }).toJSON === 'function') {
    // a Date and the like: sent as what toJSON returns
    return walk((object as { toJSON(): unknown }).toJSON(), depth + 1, binary);
  }
  ancestors.push(object);
  let total = 2;
  if (Array.isArray(object)) {
    for (let index = 0; index < object.length; index += 1) {
      // a hole: JSON sends it as null, as forEach skipped it before
      if (!(index in object)) continue;
      const item: unknown = object[index];
      segments.push(index);
      if (item === undefined) throw new TypeError(`${currentPath()} is undefined, which JSON sends as null`);
      total += walk(item, depth + 1, binary) + 1;
      segments.pop();
    }
  } else {
    for (const key in object) {
      if (!Object.hasOwn(object, key)) continue;
      segments.push(key);
      total += key.length + 4 + walk((object as Record<string, unknown>)[key], depth + 1, binary);
      segments.pop();
    }
  }
  ancestors.pop();
  return total;
}
