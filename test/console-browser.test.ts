/**
 * The operator console (plugins/console) in headless Chromium against an in-process server: an
 * operator logs in from the page, sees a session appear when an official client connects, cuts it
 * off from the page (the client sees its connection go), and edits a record that another client
 * sees change; a non-operator who logs in from the page is refused. Takes the README screenshot:
 * into test-artifacts/, or over plugins/console/screenshot.png with UPDATE_SCREENSHOTS=1. On a
 * failure, screenshots go to test-artifacts/.
 */
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { DeepstreamClient } from '@deepstream/client';
import { definePlugin } from '@deepstream-ts/core';
import { startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import events from '@deepstream-ts/plugin-events';
import records from '@deepstream-ts/plugin-records';
import rpc from '@deepstream-ts/plugin-rpc';
import presence from '@deepstream-ts/plugin-presence';
import operatorConsole from '@deepstream-ts/plugin-console';
import { CHROMIUM, CHROMIUM_ARGS, browserUnavailable, screenshotOnFailure } from './helpers/chromium.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'test-artifacts');
const skip = await browserUnavailable();

/** Passwords are `<username>-pw`. */
const passwords = definePlugin({
  name: 'test-passwords',
  version: '1.0.0',
  kernel: '^0.1.0',
  setup(ctx) {
    ctx.hooks.authenticate.tap(ctx.name, ({ authData }) => {
      const { username, password } = authData as { username?: string; password?: string };
      if (typeof username !== 'string') return undefined;
      return password === `${username}-pw` ? { isValid: true, id: username } : { isValid: false };
    });
  },
});

describe('the operator console in Chromium', { skip: skip ?? false }, () => {
  let server: TestServer | undefined;
  let browser: Browser | undefined;
  let operator: Page | undefined;
  const clients: DeepstreamClient[] = [];
  const consoleErrors: string[] = [];
  const page = () => {
    assert.ok(operator, 'the operator page is open');
    return operator;
  };
  const client = async (user: string) => {
    const c = new DeepstreamClient(server!.url, { maxReconnectAttempts: 0 } as never);
    c.on('error', () => undefined);
    clients.push(c);
    await c.login({ username: user, password: `${user}-pw` });
    return c;
  };
  const openPage = async (width = 1280, height = 900) => {
    const context = await browser!.newContext({ viewport: { width, height } });
    const p = await context.newPage();
    p.setDefaultTimeout(5000);
    // The official bundle probes eval() inside try/catch (protobufjs looking for optional modules);
    // the page's Content-Security-Policy refuses it, as it should, and Chromium reports each refusal.
    p.on('console', (message) => message.type() === 'error' && !/Content Security Policy|'script-src'/.test(message.text()) && consoleErrors.push(message.text()));
    p.on('pageerror', (error) => consoleErrors.push(error.message));
    await p.goto(`http://127.0.0.1:${server!.port}/console`);
    return p;
  };
  const logIn = async (p: Page, user: string) => {
    await p.fill('#username', user);
    await p.fill('#password', `${user}-pw`);
    await p.click('#enter');
  };
  const step = screenshotOnFailure(artifacts, 'console', () => ({ '': operator }), consoleErrors);

  before(async () => {
    server = await startTestServer({ serverName: 'node-a', plugins: [passwords, events, records, rpc, presence, operatorConsole.with({ operators: ['alice'] })] });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  after(async () => {
    for (const c of clients) c.close();
    await browser?.close().catch(() => {});
    await server?.stop();
  });

  step('a user who is not an operator logs in from the page and is refused', async () => {
    const p = await openPage(760, 500);
    await logIn(p, 'bob');
    await p.locator('#login-error', { hasText: 'not an operator' }).waitFor();
    assert.equal(await p.locator('#app').isVisible(), false, 'nothing is shown');
    await p.context().close();
  });

  step('the operator logs in and sees the node live', async () => {
    operator = await openPage();
    await logIn(page(), 'alice');
    await page().locator('#app').waitFor({ state: 'visible' });
    await page().locator('#status[data-state="OPEN"]').waitFor();
    assert.equal(await page().locator('#login').isVisible(), false, 'the login form is gone');
    await page().locator('#nodes tr[data-server="node-a"] .health', { hasText: 'up' }).waitFor();
  });

  step('a session appears within a second or so when an official client connects', async () => {
    const victim = await client('mallory');
    victim.event.subscribe('chat/general', () => undefined);
    // The page asks every node for its sessions once a second: the row is there within that and a round trip.
    await page().locator('#sessions tr[data-user="mallory"] .subscriptions', { hasText: 'chat/general' }).waitFor({ timeout: 3000 });
    await page().locator('#presence li[data-user="mallory"]').waitFor();
  });

  step('disconnecting it from the page cuts the client off', async () => {
    const victim = clients.find((c) => (c as unknown as { getConnectionState(): string }).getConnectionState() === 'OPEN')!;
    const states: string[] = [];
    victim.on('connectionStateChanged', (state: string) => states.push(state));
    await page().fill('#disconnect-reason', 'spamming the chat');
    await page().locator('#sessions tr[data-user="mallory"] button.disconnect').click();
    await page().locator('#action-result', { hasText: 'disconnected mallory' }).waitFor();
    await page().locator('#sessions tr[data-user="mallory"]').waitFor({ state: 'detached' });
    assert.ok(states.includes('RECONNECTING'), `the client saw its connection go: ${states.join(' → ')}`);
    const kick = server!.logs.find((line) => line.msg === 'session disconnected from the console');
    assert.equal(kick?.reason, 'spamming the chat');
  });

  step('editing a record from the page reaches another client through the normal write path', async () => {
    const watcher = await client('watcher');
    await watcher.record.setDataWithAck('settings/motd', { text: 'hello' });
    const motd = watcher.record.getRecord('settings/motd');
    await motd.whenReady();
    const changed = new Promise<unknown>((resolve) => motd.subscribe((data: unknown) => resolve(data)));
    await page().fill('#record-name', 'settings/motd');
    await page().click('#record-load');
    await page().locator('#record-version', { hasText: '1' }).waitFor();
    assert.deepEqual(JSON.parse(await page().inputValue('#record-data')), { text: 'hello' });
    await page().fill('#record-data', '{ "text": "maintenance at noon" }');
    await page().click('#record-save');
    assert.deepEqual(await changed, { text: 'maintenance at noon' });
    await page().locator('#record-version', { hasText: '2' }).waitFor();
    assert.equal(motd.version, 2);
    assert.ok(server!.logs.some((line) => line.msg === 'operator action' && line.operator === 'alice' && line.name === 'settings/motd'));
  });

  step('an event emitted and an RPC made from the page behave as from any client', async () => {
    const listener = await client('listener');
    const heard = new Promise<unknown>((resolve) => listener.event.subscribe('announcements', resolve));
    listener.rpc.provide('add', (data: { a: number; b: number }, response) => response.send(data.a + data.b));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await page().fill('#emit-name', 'announcements');
    await page().fill('#emit-data', '{ "text": "hi all" }');
    await page().click('#emit button');
    assert.deepEqual(await heard, { text: 'hi all' });
    await page().fill('#rpc-name', 'add');
    await page().fill('#rpc-data', '{ "a": 2, "b": 3 }');
    await page().click('#rpc button');
    await page().locator('#rpc-result', { hasText: '5' }).waitFor();
    await page().locator('#providers tr[data-provider="add"]', { hasText: 'listener' }).waitFor();
  });

  step('the README screenshot', async () => {
    await page().locator('#gauges tr[data-gauge="subscriptions (event)"]').waitFor();
    await page().fill('#session-search', '');
    await page().locator('#sessions tr[data-user="listener"]').waitFor();
    // Some traffic, so the rates and the busiest names have something to show.
    const ticker = await client('ticker');
    let tick = 0;
    const traffic = setInterval(() => {
      ticker.event.emit(tick % 3 === 0 ? 'prices/eur' : 'chat/general', { tick: tick++ });
      if (tick % 4 === 0) ticker.record.setData('board/scores', { tick });
    }, 20);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    clearInterval(traffic);
    await page().locator('#busy-events li', { hasText: 'chat/general' }).waitFor();
    const target = process.env.UPDATE_SCREENSHOTS === '1' ? join(root, 'plugins/console/screenshot.png') : join(artifacts, 'console.png');
    await mkdir(artifacts, { recursive: true });
    await page().screenshot({ path: target, fullPage: true });
    assert.deepEqual(consoleErrors, []);
  });
});
