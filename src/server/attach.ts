import type { Namespace, Server } from 'socket.io';
import { SupervisorError } from '../errors.js';
import type { SupervisorInternals } from './createSupervisor.js';

/** A socket.io `Server` or `Namespace` the supervisor can be attached to. */
export type AttachTarget = Server | Namespace;

/**
 * Attaches the supervisor to a socket.io server or namespace; returns `detach()`.
 * (Placeholder until the adapter lands: see issue 3.)
 */
export function attach<TData>(_target: AttachTarget, _internals: SupervisorInternals<TData>): () => void {
  throw new SupervisorError('CLOSED', 'attach() is not implemented yet');
}
