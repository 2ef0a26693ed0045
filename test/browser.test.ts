/**
 * End to end in a real browser: the collaborative to-do example (examples/collab-todo) in headless
 * Chromium, two users on two pages, against an in-process server. Needs Debian's Chromium at
 * /usr/bin/chromium (installed with apt-get when missing and we are root) and playwright-core (a
 * devDependency that downloads no browser). Without them the browser suite reports itself as
 * skipped with the reason. On a failure, screenshots of both pages go to test-artifacts/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { DeepstreamClient } from '@deepstream/client';
import { startTestServer, type TestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import events from '@deepstream-ts/plugin-events';
import records from '@deepstream-ts/plugin-records';
import presence from '@deepstream-ts/plugin-presence';
import { startStaticServer, type StaticServer } from '../examples/collab-todo/serve.ts';
import { freePort } from './services/real-servers.ts';
import { CHROMIUM, CHROMIUM_ARGS, browserUnavailable, screenshotOnFailure } from './helpers/chromium.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'test-artifacts');
const skip = await browserUnavailable();

describe('the collab-todo example in Chromium', { skip: skip ?? false }, () => {
  let server: TestServer | undefined;
  let web: StaticServer | undefined;
  let browser: Browser | undefined;
  const pages: Record<'A' | 'B', Page | undefined> = { A: undefined, B: undefined };
  const consoleErrors: string[] = [];

  const page = (user: 'A' | 'B'): Page => {
    const p = pages[user];
    assert.ok(p, `page ${user} is open`);
    return p;
  };
  /** Runs a check; on failure saves a screenshot of each open page to test-artifacts/. */
  const step = screenshotOnFailure(artifacts, 'browser', () => pages, consoleErrors);
  const todo = (user: 'A' | 'B', text: string) => page(user).locator('#todos li', { hasText: text });

  before(async () => {
    server = await startTestServer({ plugins: [authOpen, events, records, presence] });
    web = await startStaticServer({ port: 0 });
    const { chromium } = await import('playwright-core');
    // Playwright gives the browser a new, empty --user-data-dir of its own.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    const url = `${web.url}?server=${encodeURIComponent(server.url)}`;
    for (const user of ['A', 'B'] as const) {
      // One context per user: nothing shared between them but the server.
      const context = await browser.newContext({ viewport: { width: 760, height: 560 } });
      const p = await context.newPage();
      p.setDefaultTimeout(5000);
      p.on('console', (message) => message.type() === 'error' && consoleErrors.push(`${user}: ${message.text()}`));
      p.on('pageerror', (error) => consoleErrors.push(`${user}: ${error.message}`));
      pages[user] = p;
      await p.goto(url);
    }
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await web?.close();
    await server?.stop();
  });

  step('both users log in from the text box', async () => {
    for (const user of ['A', 'B'] as const) {
      await page(user).fill('#username', user);
      await page(user).click('#join');
    }
    for (const user of ['A', 'B'] as const) {
      await page(user).locator('#app').waitFor({ state: 'visible' });
      await page(user).locator('#status[data-state="OPEN"]').waitFor();
    }
  });

  step('presence shows both users on both pages', async () => {
    for (const user of ['A', 'B'] as const) {
      await page(user).locator('#online li[data-user="A"]').waitFor();
      await page(user).locator('#online li[data-user="B"]').waitFor();
      assert.equal(await page(user).locator('#online li.me').textContent(), `${user} (you)`);
      assert.equal(await page(user).locator('#online-count').textContent(), '(2)');
    }
  });

  step('typing in A shows "A is typing" in B, and stops when A adds the todo', async () => {
    await page('A').locator('#new-todo').pressSequentially('buy milk', { delay: 20 });
    await page('B').locator('#typing', { hasText: 'A is typing' }).waitFor();
    assert.equal(await page('A').locator('#typing').textContent(), '', 'A is not told about its own typing');
    await page('A').press('#new-todo', 'Enter');
    await todo('B', 'buy milk').waitFor();
    await page('B').locator('#typing', { hasText: /^$/ }).waitFor();
    assert.match((await todo('B', 'buy milk').textContent()) ?? '', /by A/);
  });

  step('toggling a todo in one page shows in the other, both ways', async () => {
    await todo('A', 'buy milk').locator('.toggle').check();
    await page('B').locator('#todos li.done', { hasText: 'buy milk' }).waitFor();
    assert.equal(await todo('B', 'buy milk').locator('.toggle').isChecked(), true);
    assert.equal(await page('B').locator('#summary').textContent(), '1 of 1 done');
    await todo('B', 'buy milk').locator('.toggle').uncheck();
    await page('A').locator('#todos li:not(.done)', { hasText: 'buy milk' }).waitFor();
    assert.equal(await todo('A', 'buy milk').locator('.toggle').isChecked(), false);
  });

  step('two todos added at the same moment both survive, in the same order on both pages', async () => {
    await page('A').fill('#new-todo', 'from A');
    await page('B').fill('#new-todo', 'from B');
    await Promise.all([page('A').press('#new-todo', 'Enter'), page('B').press('#new-todo', 'Enter')]);
    for (const user of ['A', 'B'] as const) {
      await todo(user, 'from A').waitFor();
      await todo(user, 'from B').waitFor();
    }
    const texts = (user: 'A' | 'B') => page(user).locator('#todos .text').allTextContents();
    for (const user of ['A', 'B'] as const) await page(user).waitForFunction('document.querySelectorAll("#todos li").length === 3');
    assert.deepEqual(await texts('A'), await texts('B'));
  });

  step('deleting a todo in B removes it in A', async () => {
    await todo('B', 'buy milk').locator('.delete').click();
    await todo('A', 'buy milk').waitFor({ state: 'detached' });
    assert.deepEqual((await page('A').locator('#todos .text').allTextContents()).sort(), ['from A', 'from B']);
  });

  step('closing page B makes B leave in page A', async () => {
    const b = page('B');
    pages.B = undefined;
    await b.context().close();
    await page('A').locator('#online li[data-user="B"]').waitFor({ state: 'detached' });
    assert.equal(await page('A').locator('#online-count').textContent(), '(1)');
    assert.deepEqual(consoleErrors, []);
  });
});

describe('npm run example', () => {
  let child: ChildProcess | undefined;
  after(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('starts the realtime server and the page server, and Ctrl-C stops both', async () => {
    const script = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.example;
    assert.equal(script, 'node --conditions=source --import tsx examples/collab-todo/run.ts');
    const [wsPort, webPort] = [await freePort(), await freePort()];
    // The same command as the script, without npm in between, so that the signal goes to it alone.
    const started = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'examples/collab-todo/run.ts'], {
      cwd: root,
      env: { ...process.env, DEEPSTREAM_PORT: String(wsPort), EXAMPLE_PORT: String(webPort), DEEPSTREAM_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    let output = '';
    started.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    started.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => started.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the example did not start: ${output}`)), 20_000);
      started.stdout!.on('data', () => output.includes('collab-todo: open') && (clearTimeout(timer), resolve()));
      void exited.then((code) => reject(new Error(`the example exited with ${code}: ${output}`)));
    });
    const pageUrl = /open (\S+)/.exec(output)![1]!;
    assert.equal(pageUrl, `http://localhost:${webPort}/?server=${encodeURIComponent(`ws://localhost:${wsPort}/deepstream`)}`);

    const html = await fetch(`http://127.0.0.1:${webPort}/`);
    assert.equal(html.status, 200);
    assert.match(await html.text(), /<script src="vendor\/ds\.min\.js"><\/script>/);
    const bundle = await fetch(`http://127.0.0.1:${webPort}/vendor/ds.min.js`);
    assert.equal(bundle.status, 200);
    assert.match(bundle.headers.get('content-type') ?? '', /javascript/);
    assert.match(await bundle.text(), /DeepstreamClient/);
    assert.equal((await fetch(`http://127.0.0.1:${webPort}/serve.ts`)).status, 404, 'only the listed files are served');

    const client = new DeepstreamClient(`ws://127.0.0.1:${wsPort}/deepstream`);
    await client.login({ username: 'example-check' });
    client.close();

    started.kill('SIGINT');
    assert.equal(await exited, 0, output);
    await assert.rejects(fetch(`http://127.0.0.1:${webPort}/`), 'the page server is stopped');
  });
});
