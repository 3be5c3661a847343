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
