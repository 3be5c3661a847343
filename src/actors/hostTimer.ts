import { fromCallback } from 'xstate';
import type { Clock } from '../core/clock.js';

export type HostTimerEvent = { type: 'timer.arm'; delay: number | null };

/**
 * The one host timer behind every client deadline and every passivation. The supervisor arms it
 * for the earliest of them and re-arms it when that changes; when it fires it sends `clock.tick`
 * and the supervisor handles everything that is due. One timer for all clients keeps deadlines
 * out of XState's per-system scheduler, whose cancelAll() scans every pending timer on each actor
 * stop (quadratic with many clients waiting out their grace period).
 */
export const hostTimer = fromCallback<HostTimerEvent, { clock: Clock }>(({ sendBack, receive, input }) => {
  const { clock } = input;
  let handle: unknown;
  const disarm = () => {
    if (handle !== undefined) clock.clearTimeout(handle);
    handle = undefined;
  };
  receive((event) => {
    disarm();
    if (event.delay === null) return;
    handle = clock.setTimeout(() => {
      handle = undefined;
      sendBack({ type: 'clock.tick' });
    }, event.delay);
    // pending deletions alone must not keep a process alive
    (handle as { unref?: () => void }).unref?.();
  });
  return disarm;
});
