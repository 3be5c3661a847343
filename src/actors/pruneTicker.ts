import { fromCallback } from 'xstate';
import type { Clock } from '../core/clock.js';

/**
 * Sends `client.prune` to the supervisor every `interval` ms: the safety net that deletes
 * clients whose own deadline timer was late. Stopped with the supervisor's `running` state.
 */
export const pruneTicker = fromCallback<{ type: never }, { interval: number; clock: Clock }>(({ sendBack, input }) => {
  const { interval, clock } = input;
  if (interval <= 0) return;
  let handle: unknown;
  const schedule = () => {
    handle = clock.setTimeout(() => {
      sendBack({ type: 'client.prune' });
      schedule();
    }, interval);
    (handle as { unref?: () => void }).unref?.();
  };
  schedule();
  return () => clock.clearTimeout(handle);
});
