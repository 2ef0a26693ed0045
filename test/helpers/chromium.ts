/**
 * Debian's Chromium for the browser suites, driven by playwright-core (which downloads no browser):
 * installed with apt-get when missing and we are root; otherwise the suites skip with the reason.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const run = promisify(execFile);

/** Undefined when the browser suite can run; otherwise why not. Installs Chromium if it may. */
export async function browserUnavailable(): Promise<string | undefined> {
  try {
    await import('playwright-core');
  } catch {
    return 'playwright-core is not installed (npm install)';
  }
  if (existsSync(CHROMIUM)) return undefined;
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return `${CHROMIUM} is missing and only root can install it (apt-get install chromium)`;
  try {
    await run('sh', ['-c', 'command -v apt-get']);
  } catch {
    return `${CHROMIUM} is missing and there is no apt-get to install it`;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    await run('apt-get', ['update', '-qq'], { env, timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
    await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { env, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    return `${CHROMIUM} is missing and apt-get could not install it: ${(stderr || message).trim().split('\n').slice(-3).join(' / ')}`;
  }
  return existsSync(CHROMIUM) ? undefined : `apt-get installed chromium but ${CHROMIUM} is still missing`;
}


/** Headless flags: no sandbox (root in a container), nothing phoning home. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];

/**
 * `it(name, check)` for a browser suite: when the check fails, each open page is saved as
 * `<dir>/<prefix>-<test name>[-<page>].png` and the browser's console errors join the message.
 */
export function screenshotOnFailure(dir: string, prefix: string, pages: () => Record<string, Page | undefined>, consoleErrors: readonly string[]) {
  return (name: string, check: () => Promise<void>) =>
    it(name, async () => {
      try {
        await check();
      } catch (error) {
        await mkdir(dir, { recursive: true });
        const slug = name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
        for (const [label, page] of Object.entries(pages())) {
          const file = join(dir, `${prefix}-${slug}${label === '' ? '' : `-${label}`}.png`);
          if (page && !page.isClosed()) await page.screenshot({ path: file, fullPage: true }).catch(() => {});
        }
        if (consoleErrors.length > 0) (error as Error).message += `\nbrowser console errors:\n${consoleErrors.join('\n')}`;
        throw error;
      }
    });
}
