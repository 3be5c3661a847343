/**
 * Why this node let a client go without running any hook for it: another node took it
 * (`replaced`) or deleted it (`deleted`); this node was declared dead (`fenced`); it stopped
 * serving by itself because no heartbeat was acknowledged within its lease (`lease-lost`); it was
 * released without this node noticing (`released`: a missed notice); this node left (`left`).
 */
export type LostWhy = 'replaced' | 'deleted' | 'fenced' | 'lease-lost' | 'released' | 'left';

/**
 * What happens to this node in the cluster (`supervisor.cluster$`): its incarnations, Redis
 * outages, clients it let go, deletions it ran. Lifecycle events stay on `events$`.
 */
export type ClusterEvent =
  | { type: 'joined'; at: number; node: string; incarnation: number; why: 'start' | 'fenced' | 'lease-lost' | 'reset' }
  /**
   * No heartbeat of this incarnation was acknowledged within its lease (`nodeTtl`, measured from
   * when the heartbeat was sent): the node stopped serving by itself before any other node could
   * take its clients over, let them go (`client-lost` with why `lease-lost`), and rejoins once
   * Redis answers (docs/node-lifecycle.md).
   */
  | { type: 'lease-lost'; at: number; node: string; incarnation: number }
  /** This incarnation was declared dead (paused or cut off past `nodeTtl`): every client it held is lost. */
  | { type: 'fenced'; at: number; node: string; incarnation: number }
  /** Redis lost its data; the clients this node held are written back (`restored`). */
  | { type: 'reset'; at: number }
  | { type: 'restored'; at: number; restored: number; kept: number; deleted: number }
  /**
   * After `restored`: the deletions this node ran within `tombstoneTtl` were written back (their
   * tombstones; `removed`: records Redis still held for them, dropped without a hook). `why`:
   * Redis lost its data (`reset`) or went back to an older copy of it (`rollback`).
   */
  | { type: 'written-back'; at: number; why: 'reset' | 'rollback'; deletions: number; removed: number }
  | { type: 'redis-unavailable'; at: number; message: string }
  /** Redis answers again; `outage`: nobody could reach it for `outageGap`, deadlines got a fresh grace period. */
  | { type: 'redis-available'; at: number; outage: boolean }
  /**
   * Other nodes this node declared dead (their clients released, their deletions redelivered), and
   * the incarnation of each that ended (`incarnations`, in the same order).
   */
  | { type: 'nodes-dead'; at: number; nodes: string[]; incarnations: number[] }
  /** This node stopped holding a client without any hook: another node took it or deleted it, or this node was fenced or left. */
  | { type: 'client-lost'; at: number; clientId: string; why: LostWhy }
  | {
      type: 'deletion-started';
      at: number;
      clientId: string;
      deletionId: string;
      fence: number;
      reason: string;
      redelivered: boolean;
    }
  /** `completed`: this node's run is the one Redis recorded; `fenced`: it was redelivered elsewhere meanwhile. */
  | {
      type: 'deletion-completed';
      at: number;
      clientId: string;
      deletionId: string;
      outcome: 'completed' | 'gone' | 'fenced';
    }
  | { type: 'left'; at: number; released: number };
