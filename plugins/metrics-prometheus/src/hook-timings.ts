import { Histogram, type Registry } from 'prom-client';
import type { KernelHooks } from '@deepstream-ts/core';

type TapFunction = (...args: unknown[]) => unknown;
type Callback = (error: unknown, result?: unknown) => void;

const BUCKETS = [0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];

/**
 * Time spent in every tap of every kernel hook, by hook and plugin (the tap name). A tapable
 * `register` interceptor wraps each tap, present and future, once; the kernel's own interceptor
 * (the error guard) was added first, so the time measured includes its handling of a throw.
 * Taps of `inbound`, `outbound` and `authorize` run per message: enable only to profile.
 */
export function timeHooks(hooks: KernelHooks, registry: Registry, prefix: string): void {
  const histogram = new Histogram({
    name: `${prefix}hook_duration_seconds`,
    help: 'Time spent in plugin hook taps, by hook and plugin (asynchronous taps: until they settle)',
    labelNames: ['hook', 'plugin'],
    buckets: BUCKETS,
    registers: [registry],
  });
  for (const [hook, instance] of Object.entries(hooks) as Array<[string, KernelHooks[keyof KernelHooks]]>) {
    instance.intercept({
      name: 'metrics-prometheus',
      register: (tap) => {
        const observe = histogram.labels(hook, tap.name).observe;
        return { ...tap, fn: timed(tap.type, tap.fn as TapFunction, observe) };
      },
    });
  }
}

function timed(type: 'sync' | 'async' | 'promise', fn: TapFunction, observe: (seconds: number) => void): TapFunction {
  const since = (start: bigint) => observe(Number(process.hrtime.bigint() - start) / 1e9);
  switch (type) {
    case 'sync':
      return (...args) => {
        const start = process.hrtime.bigint();
        try {
          return fn(...args);
        } finally {
          since(start);
        }
      };
    case 'promise':
      return (...args) => {
        const start = process.hrtime.bigint();
        return Promise.resolve(fn(...args)).finally(() => since(start));
      };
    case 'async':
      return (...args) => {
        const callback = args.pop() as Callback;
        const start = process.hrtime.bigint();
        return fn(...args, (error: unknown, result?: unknown) => {
          since(start);
          callback(error, result);
        });
      };
  }
}
