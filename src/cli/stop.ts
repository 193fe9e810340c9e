/**
 * How a long-running command (`serve`, `worker`) learns it should stop: SIGINT or SIGTERM (a second one
 * while stopping exits at once with 130; the store is consistent at every commit), or an AbortSignal when
 * the command runs in process (tests).
 */
export function untilStopped(signal?: AbortSignal): Promise<string> {
  return new Promise<string>((resolve) => {
    if (signal) {
      if (signal.aborted) resolve('abort');
      signal.addEventListener('abort', () => resolve('abort'), { once: true });
      return;
    }
    const on = (sig: NodeJS.Signals) => () => {
      process.once(sig, () => process.exit(130));
      resolve(sig);
    };
    process.once('SIGINT', on('SIGINT'));
    process.once('SIGTERM', on('SIGTERM'));
  });
}
