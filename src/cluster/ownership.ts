import { SupervisorError } from '../core/errors.js';
import { hashToken, randomId } from '../core/ids.js';
import type { RemoteAdmissionRequest, RemoteVerdict } from '../core/internals.js';
import type { LifecycleEvent } from '../core/types.js';
import type { ClientSnapshot } from '../machines/clientSnapshot.js';
import type { Commit } from '../store/clientStore.js';
import type { ClusterHookContext, LostWhy } from './clusterTypes.js';
import { type ClusterContext, recordFrom, snapshotOf, stopActor } from './context.js';
import type { ClusterRecord, DeletionTicket } from './localStore.js';
import { isUnavailable, untilAnswered } from './retry.js';
import type { ClaimResult, ClusterClientRecord, ClusterNotice, Deletion, DisconnectResult } from './types.js';

/** A hook's third argument as the node keeps it: what the user sees, and what decides whether it may still run. */
interface HookTicket {
  record: ClusterRecord<unknown>;
  lossEpoch: number;
  fence: number;
  deletion: DeletionTicket | null;
}

/** A transition Redis refused: the hooks of the transition are skipped (the hook runner's contract). */
export class RefusedCommit extends Error {
  override readonly name = 'RefusedCommit';
}

const UNAVAILABLE_MESSAGE = 'the cluster store (Redis) is unreachable; retry in a moment';
const SHUTTING_DOWN_MESSAGE = 'this server is leaving the cluster; reconnect in a moment';

/** How long a notice for a client this node does not hold (yet) is kept: its claim's reply may still be on the way. */
const PENDING_NOTICE_MS = 30_000;

/**
 * Who owns what: applies what Redis decided to the node's mirror of the clients it owns. A
 * handshake is claimed in Redis first (one round-trip), then the client's machine decides the same
 * transition on this node; every other transition the machine decides is committed to Redis
 * before its hooks run. When Redis answers that the client has moved on (a notice, a refused
 * write), the node lets it go without any hook.
 */
export function createOwnership<TData>(
  ctx: ClusterContext<TData>,
  deps: {
    /** Follows a deletion this node's machine decided and Redis committed: its completion once onDelete settled. */
    trackDeletion(deletion: Deletion<TData>): void;
    /** Asks Redis whether this incarnation is still alive (after a `node-fenced` answer). */
    checkFenced(): void;
    /** Registers a client for autoRegister (held here, `registered` on events$). */
    register(tabId: string | null): Promise<{ clientId: string; token: string }>;
  },
) {
  const { store, local, state } = ctx;
  /** Notices for clients this node did not hold when they came: applied once their claim is mirrored. */
  const pendingNotices = new Map<string, { notice: ClusterNotice; at: number }>();

  function isCurrent(record: ClusterRecord<TData>): boolean {
    return local.get(record.clientId) === record && record.state !== 'deleted';
  }

  function ownedHere(redis: ClusterClientRecord<TData>): boolean {
    return redis.node === store.nodeId && redis.incarnation === store.incarnation;
  }

  /** Lets a client go without any hook, closing its socket here if it has one. */
  function lose(record: ClusterRecord<TData>, why: LostWhy): void {
    if (!isCurrent(record)) return;
    record.cluster.lost = why;
    const socketId = record.state === 'connected' ? record.socketId : null;
    stopActor(ctx, record);
    local.drop(record);
    // its messages go out from its new owner now (or nowhere: deleted)
    ctx.delivery().forget(record.clientId, why === 'deleted');
    if (socketId !== null) {
      // replaced: the client has a newer socket elsewhere, this one must not fight back; deleted:
      // the page must reload; fenced, released or left: the browser reconnects and resumes anywhere
      const close = why === 'replaced' ? 'replaced' : why === 'deleted' ? 'deleted' : 'handoff';
      ctx.core().bridge.disconnect(socketId, close);
    }
    ctx.emit({ type: 'client-lost', at: ctx.core().options.now(), clientId: record.clientId, why });
  }

  /** Sets the mirror to what Redis holds, or lets the client go if another node owns it. */
  function resync(record: ClusterRecord<TData>, redis: ClusterClientRecord<TData>): void {
    if (!isCurrent(record)) return;
    if (!ownedHere(redis)) {
      lose(record, 'replaced');
      return;
    }
    record.cluster.fence = redis.fence;
    if (record.state === redis.state && record.socketId === redis.socketId) {
      record.expiresAt = redis.expiresAt;
      record.generation = redis.generation;
      return;
    }
    const orphan = record.state === 'connected' ? record.socketId : null;
    stopActor(ctx, record);
    record.cluster.expected = [];
    local.overwrite(record, snapshotOf(redis));
    // a socket this node still had for it, which Redis no longer counts as the client's
    if (orphan !== null && orphan !== redis.socketId) ctx.core().bridge.disconnect(orphan, 'handoff');
    // connected here on another socket than the machine knew: its messages go out on that one
    if (record.state === 'connected' && record.socketId !== orphan) ctx.delivery().flush(record);
  }

  function refused(record: ClusterRecord<TData>, result: DisconnectResult<TData>): never {
    switch (result.outcome) {
      case 'already-deleted':
      case 'unknown-client':
        lose(record, 'deleted');
        break;
      case 'node-fenced':
        deps.checkFenced();
        break;
      default:
        if ('client' in result) resync(record, result.client);
    }
    throw new RefusedCommit(`disconnect refused: ${result.outcome}`);
  }

  /** The promise a hook waits on; marked handled, since a transition without a hook has nobody awaiting it. */
  function handled(promise: Promise<void>): Commit {
    promise.catch(() => {});
    return promise;
  }

  function disconnectInRedis(record: ClusterRecord<TData>, socketId: string): Commit {
    const epoch = state.lossEpoch;
    const fence = record.cluster.fence;
    const wanted = () => epoch === state.lossEpoch && !state.closing;
    return handled(
      untilAnswered(() => store.disconnect({ clientId: record.clientId, socketId, fence }), wanted).then((result) => {
        if (result.outcome === 'disconnected') {
          if (isCurrent(record)) record.expiresAt = result.client.expiresAt;
          return;
        }
        if (result.outcome === 'replay') return;
        refused(record, result);
      }),
    );
  }

  /** A socket that reached the machine without a claim (connection state recovery skips middlewares). */
  function claimInRedis(record: ClusterRecord<TData>, socketId: string): Commit {
    const { clientId, token, tabId } = record;
    return handled(
      store.claim({ clientId, token, socketId, tabId }).then(
        (result) => {
          if ('client' in result && result.client.socketId === socketId && ownedHere(result.client)) {
            record.cluster.fence = result.client.fence;
            return;
          }
          if (result.outcome === 'node-fenced') deps.checkFenced();
          lose(record, result.outcome === 'rejected' ? 'deleted' : 'replaced');
          throw new RefusedCommit(`claim refused: ${result.outcome}`);
        },
        (error) => {
          // never retried: the store releases an unanswered claim's socket by itself
          lose(record, 'fenced');
          throw error;
        },
      ),
    );
  }

  /** A deletion the machine decided on this node (not one Redis assigned): committed in Redis first. */
  function deleteInRedis(record: ClusterRecord<TData>): Commit {
    const reason = record.actor?.getSnapshot().context.deleted?.reason ?? 'manual';
    const ticket: DeletionTicket = { deletionId: randomId(), fence: record.cluster.fence, redelivered: false };
    record.cluster.deletion = ticket;
    const epoch = state.lossEpoch;
    const { clientId } = record;
    const call = () => store.delete({ clientId, reason, deletionId: ticket.deletionId });
    return handled(
      untilAnswered(call, () => epoch === state.lossEpoch).then((result) => {
        if ((result.outcome === 'deleted' || result.outcome === 'replay') && result.deletion) {
          ticket.fence = result.deletion.fence;
          deps.trackDeletion(result.deletion);
          return;
        }
        if (result.outcome === 'node-fenced') deps.checkFenced();
        throw new RefusedCommit(`delete refused: ${result.outcome}`);
      }),
    );
  }

  /** The local store's commit: nothing to do for what Redis committed already, else one script. */
  function commitRemote(
    record: ClusterRecord<TData>,
    previousSocketId: string | null,
    snapshot: ClientSnapshot | null,
  ): Commit {
    const part = record.cluster;
    if (snapshot === null) return part.deletion ? undefined : deleteInRedis(record);
    const head = part.expected[0];
    if (head && head.state === snapshot.state && head.socketId === snapshot.socketId) {
      part.expected.shift();
      return undefined;
    }
    if (snapshot.state === 'disconnected' && previousSocketId !== null) {
      return disconnectInRedis(record, previousSocketId);
    }
    if (snapshot.state === 'connected' && snapshot.socketId !== null) return claimInRedis(record, snapshot.socketId);
    return undefined;
  }

  function hookContext(record: ClusterRecord<TData>, event: LifecycleEvent): HookTicket {
    return {
      record: record as ClusterRecord<unknown>,
      lossEpoch: state.lossEpoch,
      fence: record.cluster.fence,
      deletion: event.type === 'deleted' ? record.cluster.deletion : null,
    };
  }

  /**
   * Whether a queued hook may still run: not if this node was fenced since (its clients were
   * released; a deletion is redelivered elsewhere), nor if the client was deleted by another node
   * (its onDelete, there, must be the last hook).
   */
  function hookAllowed(ticket: unknown): ticket is HookTicket {
    const t = ticket as HookTicket | undefined;
    return t !== undefined && t.lossEpoch === state.lossEpoch && t.record.cluster.lost !== 'deleted';
  }

  function publicContext(ticket: HookTicket): ClusterHookContext {
    const { deletion } = ticket;
    if (deletion === null) return { fence: ticket.fence };
    return { fence: deletion.fence, deletionId: deletion.deletionId, redelivered: deletion.redelivered };
  }

  /** Makes the mirror hold the client as it was before the claim, expecting the claim's transition. */
  function mirrorClaim(
    result: Extract<ClaimResult<TData>, { client: unknown }>,
    token: string,
    socketId: string,
  ): ClusterRecord<TData> {
    const { previous, client } = result;
    let record = local.get(client.clientId);
    if (record && record.state !== 'deleted') {
      const part = record.cluster;
      const last = part.expected.at(-1) ?? record;
      const agrees = last.state === previous.state && last.socketId === previous.socketId;
      if (!ownedHere(previous)) {
        // held from an earlier ownership this node missed the end of: start afresh
        lose(record, 'replaced');
        record = undefined;
      } else if (!agrees) {
        stopActor(ctx, record);
        part.expected = [];
        local.overwrite(record, snapshotOf(previous));
      }
    } else {
      record = undefined;
    }
    if (record === undefined) {
      record = recordFrom(previous, token, hashToken(token));
      local.add(record);
    }
    record.cluster.fence = client.fence;
    record.data = client.data;
    record.cluster.lost = null;
    // what waits in the outbox for the new socket (sent when the machine connects it here)
    record.cluster.outbox = result.outbox;
    record.cluster.expected.push({ state: 'connected', socketId });
    const clientId = client.clientId;
    // after the socket's `connection` (socket.io emits it on the next tick): a notice that
    // arrived before this claim's reply is applied now
    setImmediate(() => applyPendingNotice(clientId));
    return record;
  }

  /** The socket of a claim never connected: undo the claim in Redis (the client disconnects, with its grace period). */
  function releaseClaim(clientId: string, socketId: string, fence: number): void {
    const record = local.get(clientId);
    if (record) record.cluster.expected = record.cluster.expected.filter((e) => e.socketId !== socketId);
    const epoch = state.lossEpoch;
    untilAnswered(
      () => store.disconnect({ clientId, socketId, fence }),
      () => epoch === state.lossEpoch,
    ).then(
      (result) => {
        const current = local.get(clientId);
        if (!current || current.state === 'deleted') return;
        if ('client' in result) resync(current, result.client);
        else if (result.outcome === 'already-deleted' || result.outcome === 'unknown-client') lose(current, 'deleted');
      },
      (error) => ctx.logger.debug({ err: error, clientId }, 'socket.io-supervisor/cluster: could not release a claim'),
    );
  }

  const refuse = (code: 'UNAVAILABLE' | 'SHUTTING_DOWN', clientId: string | null): RemoteVerdict => ({
    ok: false,
    clientId,
    code,
    message: code === 'UNAVAILABLE' ? UNAVAILABLE_MESSAGE : SHUTTING_DOWN_MESSAGE,
  });

  /** The handshake, decided in Redis in one round-trip (two for a client autoRegister makes). */
  async function admitRemote(request: RemoteAdmissionRequest): Promise<RemoteVerdict> {
    if (state.closing) return refuse('SHUTTING_DOWN', request.clientId);
    if (!state.ready) return refuse('UNAVAILABLE', request.clientId);
    const epoch = state.lossEpoch;
    let { clientId, token } = request;
    let issued: { clientId: string; token: string } | null = null;
    if (clientId === null || token === null) {
      try {
        issued = await deps.register(request.tabId);
      } catch (error) {
        if (isUnavailable(error)) return refuse('UNAVAILABLE', null);
        if (error instanceof SupervisorError && error.code === 'CLOSED') return refuse('SHUTTING_DOWN', null);
        throw error;
      }
      ({ clientId, token } = issued);
    }
    let result: ClaimResult<TData>;
    try {
      if (store.unansweredClaims > 0) await store.releaseUnansweredOf(clientId);
      result = await store.claim({ clientId, token, socketId: request.socketId, tabId: request.tabId });
    } catch (error) {
      if (isUnavailable(error)) return refuse('UNAVAILABLE', clientId);
      throw error;
    }
    // what changed during the round-trip: leaving (leave() releases what this claim took) or
    // fenced (the reaper releases it)
    if (state.closing) return refuse('SHUTTING_DOWN', clientId);
    if (epoch !== state.lossEpoch) return refuse('UNAVAILABLE', clientId);
    if (result.outcome === 'node-fenced') {
      deps.checkFenced();
      return refuse('UNAVAILABLE', clientId);
    }
    if (result.outcome === 'rejected') {
      const message =
        result.code === 'CLIENT_DELETED'
          ? `client ${clientId} was deleted; reload the page to get a new one`
          : result.code === 'UNKNOWN_CLIENT'
            ? `no client ${clientId} in the cluster; register a new one`
            : `the token presented for client ${clientId} is not the one it was issued`;
      return { ok: false, clientId, code: result.code, message };
    }
    mirrorClaim(result, token, request.socketId);
    const fence = result.client.fence;
    const id = clientId;
    return { ok: true, clientId, issued, release: () => releaseClaim(id, request.socketId, fence) };
  }

  function applyPendingNotice(clientId: string): void {
    const pending = pendingNotices.get(clientId);
    if (!pending) return;
    pendingNotices.delete(clientId);
    onNotice(pending.notice);
  }

  /** Another node took (`replaced`) or deleted a client this incarnation owned. */
  function onNotice(notice: ClusterNotice): void {
    if (notice.incarnation !== store.incarnation) return;
    if (notice.type === 'message') {
      // queued by another node for a client this incarnation owned then: sent once its socket is here
      ctx.delivery().receive(notice.clientId, notice.member);
      return;
    }
    const record = local.get(notice.clientId);
    if (!record || record.state === 'deleted' || record.cluster.expected.length > 0) {
      // its claim's reply may still be on the way (notices come on another connection)
      pendingNotices.set(notice.clientId, { notice, at: Date.now() });
      return;
    }
    if (record.cluster.fence >= notice.fence) return;
    lose(record, notice.type === 'deleted' ? 'deleted' : 'replaced');
  }

  function forgetOldNotices(): void {
    const before = Date.now() - PENDING_NOTICE_MS;
    for (const [clientId, { at }] of pendingNotices) if (at < before) pendingNotices.delete(clientId);
  }

  /**
   * A notice can be missed (pub/sub delivers at most once): asks Redis which of the clients held
   * here this incarnation still owns, in batches, and lets the others go. Called right after a
   * heartbeat that found this incarnation alive, so "not owned" means lost, not fenced.
   */
  async function reconcile(batchSize: number): Promise<void> {
    ctx.delivery().sweepStray();
    const held = [...local.records()].filter((r) => r.state !== 'deleted' && r.cluster.expected.length === 0);
    for (let i = 0; i < held.length; i += batchSize) {
      const batch = held.slice(i, i + batchSize);
      const owned = new Map((await store.ownedWithSeq(batch.map((r) => r.clientId))).map((o) => [o.clientId, o]));
      for (const record of batch) {
        if (!isCurrent(record) || record.cluster.expected.length > 0) continue;
        const mine = owned.get(record.clientId);
        if (mine !== undefined && mine.fence <= record.cluster.fence) {
          // a message notice may have been missed too (pub/sub is at most once)
          ctx.delivery().check(record.clientId, mine.seq);
          continue;
        }
        if (mine !== undefined || record.state !== 'connected') {
          lose(record, mine !== undefined ? 'replaced' : 'deleted');
          continue;
        }
        // connected here, owned by nobody here: taken by another socket (it must not fight back),
        // or released (its browser should reconnect and resume)
        const now = await store.get(record.clientId);
        lose(record, now === undefined ? 'deleted' : now.node === null ? 'released' : 'replaced');
      }
    }
  }

  return {
    admitRemote,
    commitRemote,
    hookContext,
    hookAllowed,
    publicContext,
    onNotice,
    forgetOldNotices,
    reconcile,
    lose,
    resync,
  };
}

export type Ownership<TData> = ReturnType<typeof createOwnership<TData>>;
