import type { Logger } from '../../core/types.js';
import type { DisconnectResult } from './results.js';

/**
 * Claims whose reply was lost: the claim may have run, so its socket may be connected in Redis
 * although the node refused it. Each is released (a disconnect without a fence, which only takes
 * effect if that socket is still the client's here) once Redis answers again.
 */
export class UnansweredClaims {
  private readonly pending = new Map<string, { clientId: string; socketId: string }>();

  constructor(
    private readonly release: (clientId: string, socketId: string) => Promise<DisconnectResult<unknown>>,
    private readonly logger: Logger,
  ) {}

  /** Claims whose socket is still to be released. */
  get size(): number {
    return this.pending.size;
  }

  /** The claim of `socketId` got no answer. */
  remember(clientId: string, socketId: string): void {
    this.pending.set(`${clientId} ${socketId}`, { clientId, socketId });
  }

  /** A claim of `socketId` was answered: whatever an earlier, unanswered one did is known now. */
  answered(clientId: string, socketId: string): void {
    this.pending.delete(`${clientId} ${socketId}`);
  }

  /**
   * Releases now the sockets of this client's unanswered claims (before a new claim of it from
   * this node: otherwise the claim could find the client connected to a socket this node refused,
   * and treat the new socket as a swap). One round-trip each; none when there is none.
   */
  async releaseOf(clientId: string): Promise<void> {
    for (const [key, entry] of [...this.pending]) {
      if (entry.clientId !== clientId) continue;
      await this.release(clientId, entry.socketId);
      this.pending.delete(key);
    }
  }

  /** Releases every one (after a heartbeat Redis answered); stops at the first that gets no answer. */
  async releaseAll(): Promise<void> {
    for (const [key, { clientId, socketId }] of [...this.pending]) {
      try {
        const result = await this.release(clientId, socketId);
        this.pending.delete(key);
        this.logger.debug(
          { clientId, outcome: result.outcome },
          'socket.io-supervisor/cluster: released the socket of an unanswered claim',
        );
      } catch (error) {
        // Redis went away again: the next heartbeat retries
        this.logger.debug({ err: error }, 'socket.io-supervisor/cluster: could not release an unanswered claim');
        return;
      }
    }
  }
}
