/** What the Redis transport tests of every mode (one server, Sentinel, Redis Cluster) share. */

let media = 0;
/** A channel prefix per medium: the tests of a file share one Redis and must not hear each other. */
export const uniquePrefix = () => `test${process.pid}:${media++}:`;

/** Polls `check` every 5 ms until it holds; fails naming `what` after `timeout` ms. */
export async function until(check: () => boolean, what: string, timeout = 3000): Promise<void> {
  const giveUp = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > giveUp) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
