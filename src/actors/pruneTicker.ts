import { fromCallback } from 'xstate';

/**
 * Sends `client.prune` to the supervisor every `interval` ms: the safety net that deletes
 * clients whose own deadline timer was late. Stopped with the supervisor's `running` state.
 */
export const pruneTicker = fromCallback<{ type: never }, { interval: number }>(({ sendBack, input }) => {
  if (input.interval <= 0) return;
  const handle = setInterval(() => sendBack({ type: 'client.prune' }), input.interval);
  handle.unref?.();
  return () => clearInterval(handle);
});
