/** Shared by the listening suites. */
import type { DeepstreamClient } from '@deepstream/client';

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let counter = 0;
/** A name no earlier test has subscribed to. */
export const unique = (prefix: string) => `${prefix}/${Date.now().toString(36)}${counter++}`;

/** A listener that logs what it is offered and told (`found x`, `stop x`), accepting when `decide` says so. */
export function listen(client: DeepstreamClient, topic: 'event' | 'record', pattern: string, decide: (name: string) => boolean): string[] {
  const log: string[] = [];
  client[topic].listen(pattern, (name, response) => {
    log.push(`found ${name}`);
    if (decide(name)) {
      response.accept();
      response.onStop(() => log.push(`stop ${name}`));
    } else response.reject();
  });
  return log;
}
