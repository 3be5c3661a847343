import { fromCallback } from 'xstate';

export type DeadlineTimerEvent = { type: 'timer.arm'; delay: number | null };

/**
 * The one host timer behind every client deadline. The supervisor arms it for the earliest
 * pending deadline and re-arms it when that changes; when it fires it sends `clock.tick` and
 * the supervisor fires every deadline that is due. One timer for all clients keeps deadlines out
 * of XState's per-system scheduler, whose cancelAll() scans every pending timer on each actor
 * stop (quadratic with many clients waiting out their grace period).
 */
export const deadlineTimer = fromCallback<DeadlineTimerEvent>(({ sendBack, receive }) => {
  let handle: ReturnType<typeof setTimeout> | undefined;
  receive((event) => {
    if (handle !== undefined) clearTimeout(handle);
    handle = undefined;
    if (event.delay === null) return;
    handle = setTimeout(() => {
      handle = undefined;
      sendBack({ type: 'clock.tick' });
    }, event.delay);
    // pending deletions alone must not keep a process alive
    handle.unref?.();
  });
  return () => {
    if (handle !== undefined) clearTimeout(handle);
  };
});
