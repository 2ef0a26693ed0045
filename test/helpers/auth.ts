/**
 * Shared by the tests of every authentication strategy: servers and official clients that are
 * cleaned up after each file, and assertions for the login rules every strategy must keep.
 */
import { after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { DeepstreamClient } from '@deepstream/client';
import { startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import type { DeepstreamConfig } from '@deepstream-ts/core';

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const clients: DeepstreamClient[] = [];
const servers: TestServer[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
after(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

/** A server stopped when the file ends. */
export async function server(config: DeepstreamConfig): Promise<TestServer> {
  const s = await startTestServer(config);
  servers.push(s);
  return s;
}

/** An official client that does not reconnect (a refused connection stays refused), closed after each test. */
export function official(url: string): DeepstreamClient {
  const c = new DeepstreamClient(url, { nativeTimerRegistry: true, maxReconnectAttempts: 0 } as never);
  c.on('error', () => undefined); // asserted through the events the tests collect
  clients.push(c);
  return c;
}

/** What the official client's login rejects with: `{ reason }`. Fails rather than hangs when no answer comes. */
export async function refusal(c: DeepstreamClient, authData: Record<string, unknown>, timeout = 5000): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no login result within ${timeout} ms`)), timeout);
  });
  try {
    await Promise.race([c.login(authData as never), late]);
  } catch (error) {
    if (error instanceof Error) throw error;
    return (error as { reason: unknown }).reason;
  } finally {
    clearTimeout(timer);
  }
  throw new Error('the login was accepted');
}

/** The session the server holds for a user, to check serverData. */
export function sessionOf(s: TestServer, userId: string) {
  const session = [...s.kernel.sessions].find((candidate) => candidate.userId === userId);
  assert.ok(session, `no session for ${userId}`);
  return session;
}

/**
 * Attempt counting through the official client (PROTOCOL §6.3): `maxAuthAttempts` refusals, then
 * TOO_MANY_AUTH_ATTEMPTS and the connection is closed for good.
 */
export async function assertTooManyAttempts(s: TestServer, bad: Record<string, unknown>): Promise<void> {
  const c = official(s.url);
  const errors: string[] = [];
  c.on('error', (_error: unknown, event: string) => errors.push(event));
  for (let attempt = 1; attempt <= s.kernel.config.connection.maxAuthAttempts; attempt++) await refusal(c, bad);
  const deadline = Date.now() + 2000;
  while (c.getConnectionState() !== 'TOO_MANY_AUTH_ATTEMPTS' && Date.now() < deadline) await pause(10);
  assert.equal(c.getConnectionState(), 'TOO_MANY_AUTH_ATTEMPTS');
  assert.deepEqual(errors, ['TOO_MANY_AUTH_ATTEMPTS']);
}

/**
 * The unauthenticated timeout (PROTOCOL §6.3): a client that never logs in is timed out; one whose
 * login was refused once is not (the first result clears the timer).
 */
export async function assertUnauthenticatedTimeout(s: TestServer, bad: Record<string, unknown>): Promise<void> {
  const timeout = s.kernel.config.connection.unauthenticatedClientTimeout;
  assert.ok(timeout !== false && timeout < 1000, 'use a server with a short unauthenticatedClientTimeout');
  const idle = official(s.url);
  const idleErrors: string[] = [];
  idle.on('error', (_error: unknown, event: string) => idleErrors.push(event));
  const tried = official(s.url);
  await refusal(tried, bad);
  await pause(timeout + 500);
  assert.deepEqual(idleErrors, ['AUTHENTICATION_TIMEOUT']);
  assert.equal(idle.getConnectionState(), 'AUTHENTICATION_TIMEOUT');
  assert.equal(tried.getConnectionState(), 'AWAITING_AUTHENTICATION');
}

/** Asserts that no secret appears anywhere in the server's log lines. */
export function assertNotLogged(s: TestServer, secrets: readonly string[]): void {
  assert.ok(s.logs.length > 0, 'logs were captured');
  const everything = JSON.stringify(s.logs);
  for (const secret of secrets) assert.equal(everything.includes(secret), false, `"${secret}" appears in the logs`);
}
