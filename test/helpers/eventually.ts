/** Waits (real time) until `check` passes, retrying every 5 ms, up to `within` ms; then throws its last error. */
export async function eventually(check: () => void, within = 5000): Promise<void> {
  const deadline = Date.now() + within;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}
