import type { SupervisorErrorCode } from './types.js';

/**
 * The one error class the library throws or rejects with. `code` is machine-readable; the
 * message is a sentence for the developer and never contains a token.
 */
export class SupervisorError extends Error {
  override readonly name = 'SupervisorError';
  readonly code: SupervisorErrorCode;

  constructor(code: SupervisorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Whether `value` is a {@link SupervisorError} (of this package), e.g. to read its `code` in a `catch`. */
export function isSupervisorError(value: unknown): value is SupervisorError {
  return value instanceof SupervisorError;
}
