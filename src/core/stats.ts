import type { LifecycleEvent, SupervisorStats } from './types.js';

type Counters = Omit<SupervisorStats, 'delivery'>;

/**
 * Counters of ignored events by `why`, deletes by reason, rejections by code and hook errors.
 * Keys come from user code (a delete reason may be any string, `constructor` or `__proto__`
 * included), so they are kept in Maps and handed out as objects without a prototype.
 */
export function createStats() {
  const ignored = new Map<string, number>();
  const deleted = new Map<string, number>();
  const rejected = new Map<string, number>();
  let hookErrors = 0;

  const bump = (table: Map<string, number>, key: string) => table.set(key, (table.get(key) ?? 0) + 1);
  const toObject = (table: Map<string, number>) => {
    const object = Object.create(null) as Record<string, number>;
    for (const [key, value] of table) object[key] = value;
    return object;
  };

  return {
    /** Counts what goes out, so every ignored, deleted, rejected and failed event has a counter. */
    count(event: LifecycleEvent): void {
      if (event.type === 'ignored') bump(ignored, event.why);
      else if (event.type === 'deleted') bump(deleted, event.reason);
      else if (event.type === 'rejected') bump(rejected, event.code);
      else if (event.type === 'hook-error') hookErrors += 1;
    },
    deletedFor: (reason: string): number => deleted.get(reason) ?? 0,
    snapshot: (): Counters => ({
      ignored: toObject(ignored),
      deleted: toObject(deleted),
      rejected: toObject(rejected),
      hookErrors,
    }),
  };
}

export type Stats = ReturnType<typeof createStats>;
