import { ackScript } from './ack.js';
import { claimScript } from './claim.js';
import { completeDeletionScript } from './completeDeletion.js';
import { countsScript } from './counts.js';
import { type BuiltScript, KEY_CHECK_ENV, type LuaScript } from './defineScript.js';
import { deleteScript } from './delete.js';
import { disconnectScript } from './disconnect.js';
import { emitScript } from './emit.js';
import { getScript } from './get.js';
import { heartbeatScript } from './heartbeat.js';
import { hookRanScript } from './hookRan.js';
import { joinScript } from './join.js';
import { leaveScript } from './leave.js';
import { listScript } from './list.js';
import { memberScript } from './member.js';
import { nodesScript } from './nodes.js';
import { outboxScript } from './outbox.js';
import { partitionsScript } from './partitions.js';
import { ownedScript } from './owned.js';
import { pendingDeletionsScript } from './pendingDeletions.js';
import { reapScript } from './reap.js';
import { registerScript } from './register.js';
import { restoreScript } from './restore.js';
import { sweepScript } from './sweep.js';
import { writeBackScript } from './writeBack.js';

/**
 * Every script of cluster mode, by name: one atomic step each (docs/cluster-redis.md, "Scripts").
 * Each one's source starts with its contract (KEYS, ARGV, reply), then holds only the fragments it
 * uses (`fragments.ts`).
 */
export const SCRIPTS = {
  join: joinScript,
  heartbeat: heartbeatScript,
  register: registerScript,
  claim: claimScript,
  disconnect: disconnectScript,
  hookRan: hookRanScript,
  delete: deleteScript,
  completeDeletion: completeDeletionScript,
  pendingDeletions: pendingDeletionsScript,
  sweep: sweepScript,
  reap: reapScript,
  leave: leaveScript,
  member: memberScript,
  restore: restoreScript,
  writeBack: writeBackScript,
  get: getScript,
  list: listScript,
  counts: countsScript,
  nodes: nodesScript,
  owned: ownedScript,
  emit: emitScript,
  ack: ackScript,
  outbox: outboxScript,
  partitions: partitionsScript,
} as const satisfies Record<string, LuaScript>;

/** The scripts' type: each one, by name. */
export type Scripts = { readonly [name in keyof typeof SCRIPTS]: BuiltScript };

/**
 * The test build of every script (`defineScript`): each command's keys checked against `KEYS` and
 * what it discovered. A store runs these when the environment sets {@link KEY_CHECK_ENV} to '1'.
 */
export const CHECKED_SCRIPTS: Scripts = Object.fromEntries(
  Object.entries(SCRIPTS).map(([name, script]) => [name, script.checked]),
) as unknown as Scripts;

export { KEY_CHECK_ENV };
export type { BuiltScript, LuaScript } from './defineScript.js';
export { DELETION_FIELDS, OUTBOX_FIELDS, RECORD_FIELDS } from './fields.js';
