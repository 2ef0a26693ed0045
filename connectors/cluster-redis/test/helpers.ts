/** What the Redis transport tests of every mode (one server, Sentinel, Redis Cluster) share. */

let media = 0;
/** A channel prefix per medium: the tests of a file share one Redis and must not hear each other. */
export const uniquePrefix = () => `test${process.pid}:${media++}:`;

export { until } from '@deepstream-ts/core/testing';
