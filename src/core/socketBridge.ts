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
  /**
   * Sends a message of `to(clientId).emit()` on the client's current socket: `count` arguments,
   * the first two in `first` and `second`, or all of them as an array in `first` when there are
   * more than two (the outbox keeps no array for one or two arguments). {@link sendArguments}
   * sends an array.
   */
  send(socketId: string, seq: number, event: string, count: number, first: unknown, second: unknown): void;
  /** Tells a new socket where its client's message stream resumes (everything up to `acked` is done). */
  resume(socketId: string, acked: number): void;
  /** Asks the page for an acknowledgement now (its client's outbox passed half of a bound). */
  askAck(socketId: string): void;
}

/** Sends a message whose arguments are an array through {@link SocketBridge.send}. */
export function sendArguments(
  bridge: SocketBridge,
  socketId: string,
  seq: number,
  event: string,
  args: unknown[],
): void {
  if (args.length <= 2) bridge.send(socketId, seq, event, args.length, args[0], args[1]);
  else bridge.send(socketId, seq, event, args.length, args, undefined);
}
