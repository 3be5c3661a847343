/**
 * A readable one-line description of anything user code may throw, which never throws itself.
 * `String(value)` throws for `Object.create(null)`, for an object whose `toString` throws, and
 * for a revoked Proxy; a hook or subscriber throwing such a value once killed the supervisor
 * actor (issue 15).
 */
export function describeThrown(value: unknown): string {
  try {
    if (value instanceof Error) return typeof value.message === 'string' ? value.message : 'an Error';
  } catch {
    // a Proxy whose getPrototypeOf trap throws fails instanceof itself
    return 'an unreadable value';
  }
  try {
    const text = String(value);
    return typeof text === 'string' ? text : 'an unreadable value';
  } catch {
    try {
      return `a value of type ${typeof value} that cannot be converted to a string`;
    } catch {
      return 'an unreadable value';
    }
  }
}
