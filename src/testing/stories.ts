import type { ClientState } from '../core/types.js';
import type { ModelEvent } from './lifecycleModel.js';

type ModelEventType = ModelEvent['type'];

/**
 * What each step of a lifecycle path reads as, by the state it starts from: a path's name is
 * its steps' stories, so it tells what happened to the client. Each (state, event) pair has its
 * own story, so two paths never share a name.
 */
const STORIES: Record<ClientState, Partial<Record<ModelEventType, string>>> = {
  handshaking: {
    HANDSHAKE_NEW: 'connects',
    DISCONNECT_CURRENT: 'a disconnect arrives before it ever connected',
    PRUNE_EARLY: 'a prune comes before its handshake deadline',
    PRUNE_DUE: 'the event loop stalls past its handshake deadline and a prune beats the late timer',
    DELETE: 'is deleted during its handshake',
    TIMEOUT: 'never connects (handshake timeout)',
  },
  connected: {
    HANDSHAKE_NEW: 'a second socket takes over (socket swap)',
    HANDSHAKE_SAME: 'its handshake is replayed',
    DISCONNECT_CURRENT: 'disconnects',
    DISCONNECT_STALE: "a stale socket's disconnect arrives",
    PRUNE_EARLY: 'a prune finds it connected',
    DELETE: 'is deleted while connected',
  },
  disconnected: {
    HANDSHAKE_NEW: 'reconnects',
    DISCONNECT_CURRENT: 'a second disconnect arrives',
    PRUNE_EARLY: 'a prune comes before its reconnect deadline',
    PRUNE_DUE: 'the event loop stalls past its reconnect deadline and a prune beats the late timer',
    DELETE: 'is deleted while disconnected',
    TIMEOUT: 'does not come back (reconnect timeout)',
  },
  deleted: {
    HANDSHAKE_NEW: 'a late handshake arrives after the delete',
    DISCONNECT_CURRENT: 'a late disconnect arrives after the delete',
    PRUNE_DUE: 'a prune sweep passes after the delete',
    DELETE: 'is deleted again',
  },
};

/** The story of `event` in `state`. */
export function storyOf(state: ClientState, event: ModelEventType): string {
  const story = STORIES[state][event];
  if (story === undefined) throw new Error(`the lifecycle model has no ${event} in ${state}`);
  return story;
}

export const REGISTERS = 'registers';
export const SHUTS_DOWN = 'the server shuts down';
