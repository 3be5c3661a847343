/** Longest accepted `tabId`. */
export const MAX_TAB_ID = 64;
// printable ASCII only: a tabId ends up in logs and the inspector, so no control characters
const PRINTABLE = /^[\x20-\x7e]+$/;

/** Why `tabId` is not 1–64 printable ASCII characters, naming `where`; `null` if it is. */
export function tabIdProblem(tabId: unknown, where: string): string | null {
  if (typeof tabId !== 'string' || tabId.length === 0 || tabId.length > MAX_TAB_ID || !PRINTABLE.test(tabId)) {
    return `${where} must be 1 to ${MAX_TAB_ID} printable ASCII characters`;
  }
  return null;
}

const EVENT_TYPES: ReadonlySet<string> = new Set([
  'socket.handshake',
  'socket.disconnect',
  'client.delete',
  'client.prune',
]);

/** Why `event` is not a DESIGN event `send()` can deliver; `null` if it is. */
export function eventProblem(event: unknown): string | null {
  if (typeof event !== 'object' || event === null) return 'the event must be an object';
  const { type, clientId, socketId, reason, now } = event as Record<string, unknown>;
  if (typeof type !== 'string' || !EVENT_TYPES.has(type)) {
    return `unknown event type ${JSON.stringify(String(type).slice(0, 40))}; expected one of ${[...EVENT_TYPES].join(', ')}`;
  }
  if (clientId !== undefined && typeof clientId !== 'string') return `${type}: clientId must be a string`;
  if (clientId === undefined && type !== 'client.prune') return `${type}: clientId is required`;
  if ((type === 'socket.handshake' || type === 'socket.disconnect') && typeof socketId !== 'string') {
    return `${type}: socketId must be a string`;
  }
  if (type === 'socket.disconnect' && typeof reason !== 'string') return 'socket.disconnect: reason must be a string';
  if (type === 'client.delete' && reason !== undefined && typeof reason !== 'string') {
    return 'client.delete: reason must be a string';
  }
  if (type === 'client.prune' && now !== undefined && (typeof now !== 'number' || !Number.isFinite(now))) {
    return 'client.prune: now must be a finite number';
  }
  return null;
}
