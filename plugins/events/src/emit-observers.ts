import type { SharedMessage, Session } from '@deepstream-ts/core';

/**
 * Sees every event delivered on this node: local emits and those from other nodes, each once,
 * after its exact-name subscribers. `sender` is the emitting session (undefined for another node's).
 * For deliveries by a rule of one's own (MQTT wildcard subscriptions); must not throw or block.
 */
export type EmitObserver = (emit: SharedMessage, sender: Session | undefined) => void;

/** The `eventEmits` service: a feed of delivered events. */
export interface EventEmitsService {
  /** Starts observing; returns the function that stops it. */
  observe(observer: EmitObserver): () => void;
}

/** The observers of one events plugin. With none, `notify` is one length check per emit. */
export class EmitObservers implements EventEmitsService {
  private observers: EmitObserver[] = [];

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
