import type { Socket } from 'node:net';

/**
 * Batches socket writes for one event-loop turn. The protocol sends one message per WebSocket
 * frame, and a fan-out burst would otherwise cost one system call per frame per subscriber; a
 * corked socket collects the turn's frames and `uncork` hands them to the kernel in one writev.
 */
export class WriteBatcher {
  private corked: Socket[] = [];
  private scheduled = false;
  private readonly flush = (): void => {
    const sockets = this.corked;
    this.corked = [];
    this.scheduled = false;
    for (const socket of sockets) socket.uncork();
  };

  /** Call before writing to `socket` when it is not held yet; the batcher releases it after this turn. */
  hold(socket: Socket): void {
    socket.cork();
    this.corked.push(socket);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }
}
