import { Type, type Static } from '@deepstream-ts/core';

export const CONSOLE_OPTIONS = Type.Object({
  /** Where the page is served (by prefix: its files live under it). */
  path: Type.String({ pattern: '^/[^?#]*[^/?#]$', expected: 'a path starting with "/", not ending with "/"', default: '/console' }),
  /** User ids, as the authentication chain gives them, that may use the console. */
  operators: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
  /** A secret that logs in as an operator (`{ operatorToken }` as login data) and opens the HTTP snapshot API. */
  operatorToken: Type.Optional(Type.String({ minLength: 16, writeOnly: true, expected: 'a secret of at least 16 characters' })),
  /** The user id a login with `operatorToken` gets. */
  tokenOperator: Type.String({ minLength: 1, default: 'operator' }),
  /** Milliseconds between the live figures each node publishes. */
  interval: Type.Integer({ minimum: 100, maximum: 60_000, default: 1000 }),
  /** Sessions one search returns at most. */
  maxSessionsListed: Type.Integer({ minimum: 1, maximum: 10_000, default: 500 }),
  /** Distinct event and record names counted per interval for the busiest lists (bounds memory under a name flood). */
  maxTrackedNames: Type.Integer({ minimum: 10, default: 5000 }),
});

export type ConsoleOptions = Static<typeof CONSOLE_OPTIONS>;
