import type { Snapshot } from 'xstate';
import type { LiveState } from '../core/types.js';
import type { ClientContext, ClientMachineSnapshot } from './client.machine.js';

/**
 * A client's machine state in compact form: its state value and context, minus what every
 * client shares (the timeouts) and its id (the key). A passivated client is kept as this
 * (a few hundred bytes, where a live XState actor takes about 3 KB) and its actor is re-created
 * from it for its next event. Cluster mode keeps the same fields in Redis.
 */
export interface ClientSnapshot {
  state: LiveState;
  /** The current socket while `connected`. */
  socketId: string | null;
  tabId: string | null;
  createdAt: number;
  connectedAt: number | null;
  disconnectedAt: number | null;
  /** The pending deadline while `handshaking` or `disconnected`, else `null`. */
  expiresAt: number | null;
  /** Bumped each time a reconnect deadline is armed; a timeout must carry the current one. */
  generation: number;
}

/**
 * The snapshot fields of anything that holds them (a node's record, a record read from Redis),
 * copied into a snapshot of its own. The caller vouches that `state` is a live state.
 */
export function snapshotFields(source: Omit<ClientSnapshot, 'state'> & { state: string }): ClientSnapshot {
  return {
    state: source.state as LiveState,
    socketId: source.socketId,
    tabId: source.tabId,
    createdAt: source.createdAt,
    connectedAt: source.connectedAt,
    disconnectedAt: source.disconnectedAt,
    expiresAt: source.expiresAt,
    generation: source.generation,
  };
}

/** What every client of one supervisor shares, so it is not kept per client. */
export interface ClientTimeouts {
  handshakeTimeout: number;
  reconnectTimeout: number;
}

/** The compact form of an actor's snapshot; `null` once the machine has reached `deleted`. */
export function compactSnapshot(snapshot: ClientMachineSnapshot): ClientSnapshot | null {
  if (snapshot.status !== 'active') return null;
  const { context } = snapshot;
  return {
    state: snapshot.value as LiveState,
    socketId: context.socketId,
    tabId: context.tabId,
    createdAt: context.createdAt,
    connectedAt: context.connectedAt,
    disconnectedAt: context.disconnectedAt,
    expiresAt: context.expiresAt,
    generation: context.generation,
  };
}

/**
 * The persisted XState snapshot to re-create a client's actor from
 * (`createActor(clientMachine, { snapshot })`): the same shape `actor.getPersistedSnapshot()`
 * returns for a client, rebuilt from the compact form.
 */
export function persistedSnapshot(
  clientId: string,
  compact: ClientSnapshot,
  timeouts: ClientTimeouts,
): Snapshot<unknown> {
  const context: ClientContext = {
    clientId,
    tabId: compact.tabId,
    socketId: compact.socketId,
    createdAt: compact.createdAt,
    connectedAt: compact.connectedAt,
    disconnectedAt: compact.disconnectedAt,
    expiresAt: compact.expiresAt,
    generation: compact.generation,
    handshakeTimeout: timeouts.handshakeTimeout,
    reconnectTimeout: timeouts.reconnectTimeout,
    deleted: null,
  };
  return {
    status: 'active',
    value: compact.state,
    context,
    children: {},
    historyValue: {},
    output: undefined,
    error: undefined,
  } as Snapshot<unknown>;
}
