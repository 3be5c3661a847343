/** Where the adapter plugs in: the core never touches a socket itself. */
export interface SocketBridge {
  /** The live socket for `onConnect`'s context, if any. */
  resolve(socketId: string): unknown;
  /**
   * Closes a socket from the server side: `replaced` (another socket of its client took over) and
   * `deleted` (its client was deleted, for `reason`, which the browser is told) tell the browser
   * not to reconnect; `handoff` (cluster mode: this node let the client go) closes the connection
   * itself, so the browser reconnects, to any node, and resumes.
   */
  disconnect(socketId: string, why: 'replaced' | 'deleted' | 'handoff', reason?: string): void;
  /** Sends a message of `to(clientId).emit()` on the client's current socket. */
  send(socketId: string, seq: number, event: string, args: unknown[]): void;
  /** Tells a new socket where its client's message stream resumes (everything up to `acked` is done). */
  resume(socketId: string, acked: number): void;
}
