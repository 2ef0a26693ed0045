/** Something holding frames for this event-loop turn; `flush` hands them to the socket. */
export interface Flushable {
  flush(): void;
}

/**
 * Batches socket writes for one event-loop turn. The protocol sends one message per WebSocket
 * frame, and a fan-out burst would otherwise cost one system call per frame per subscriber: a
 * connection queues the turn's frames and registers here on its first one; after the turn
 * (setImmediate) each connection writes its frames as one buffer, in one system call.
 *
 * With a delay (`connection.writeDelay`), frames are held up to that many ms instead, across
 * turns: at a moderate rate of small messages, several then share one write. One timer for all
 * connections: a connection's first frame waits at most the delay, later ones less.
 */
export class WriteBatcher {
  private held: Flushable[] = [];
  private scheduled = false;

  constructor(private readonly delayMs = 0) {}

  private readonly flush = (): void => {
    const held = this.held;
    this.held = [];
    this.scheduled = false;
    let failure: { error: unknown } | undefined;
    for (let i = 0; i < held.length; i++) {
      try {
        (held[i] as Flushable).flush();
      } catch (error) {
        failure ??= { error }; // every other connection still gets its frames out
      }
    }
    if (failure !== undefined) throw failure.error;
  };

  /** Call on the first frame a connection queues in a turn; its `flush` runs once the turn is over. */
  hold(connection: Flushable): void {
    this.held.push(connection);
    if (!this.scheduled) {
      this.scheduled = true;
      if (this.delayMs > 0) setTimeout(this.flush, this.delayMs);
      else setImmediate(this.flush);
    }
  }
}
