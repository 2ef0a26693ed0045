import type { SharedMessage, Session } from '@deepstream-ts/core';

/**
 * Sees every event delivered on this node: local emits and those from other nodes, each once,
 * after its exact-name subscribers. `sender` is the emitting session (undefined for another node's).
 * For deliveries by a rule of one's own (MQTT wildcard subscriptions); must not throw or block.
 */
export type EmitObserver = (emit: SharedMessage, sender: Session | undefined) => void;

/** The `eventEmits` service: a feed of delivered events. */
export interface EventEmitsService {
  /**
   * Starts observing; returns the function that stops it. An observer sees the events of other
   * nodes only for names this node has subscribers of, unless some observer `wantsAll`.
   */
  observe(observer: EmitObserver): () => void;
  /**
   * From now until the returned function is called, this node receives every event emitted in the
   * cluster, subscribed here or not (MQTT wildcard subscriptions: EVENTS_RPC_PRESENCE §5). Costs
   * the whole cluster's event traffic on this node meanwhile, and makes the other nodes broadcast
   * events instead of sending them to interested nodes only: hold it only while it is needed.
   * `ready` settles once the other nodes know (about one bus round trip).
   */
  wantAll(): { ready: Promise<void> | undefined; release(): void };
}

/** The observers of one events plugin. With none, `notify` is one length check per emit. */
export class EmitObservers implements EventEmitsService {
  private observers: EmitObserver[] = [];
  private wanting = 0;
  /** What the first of the current `wantAll` holders got: the later ones wait for the same. */
  private ready: Promise<void> | undefined;
  private onWant: ((wanted: boolean) => Promise<void> | undefined | void) | undefined;

  /** @internal The events plugin's link to the cluster bus. */
  onWantAll(handler: (wanted: boolean) => Promise<void> | undefined | void): () => void {
    this.onWant = handler;
    if (this.wanting > 0) void handler(true);
    return () => {
      if (this.wanting > 0) void handler(false);
      this.onWant = undefined;
    };
  }

  wantAll(): { ready: Promise<void> | undefined; release(): void } {
    let held = true;
    if (this.wanting++ === 0) this.ready = this.onWant?.(true) ?? undefined;
    return {
      ready: this.ready,
      release: () => {
        if (!held) return;
        held = false;
        if (--this.wanting === 0) this.onWant?.(false);
      },
    };
  }

  observe(observer: EmitObserver): () => void {
    this.observers = [...this.observers, observer];
    return () => {
      this.observers = this.observers.filter((o) => o !== observer);
    };
  }

  notify(emit: SharedMessage, sender: Session | undefined): void {
    const observers = this.observers;
    for (let i = 0; i < observers.length; i++) observers[i]!(emit, sender);
  }
}
