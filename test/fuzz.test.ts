/**
 * Fuzz test (hardening: one client must never stop the server, stall others, or get around a
 * rule). Random bytes, mutated protobuf messages, hostile JSON payloads, record paths and names
 * are thrown at a server with every feature plugin and Valve rules, running in a child process,
 * from connections before and after login. After every run of fast-check:
 *   - the server process is still up (a crash is an exit, reported with its stderr),
 *   - no unhandled rejection or uncaught exception happened in it,
 *   - two healthy official clients get an event round trip and an acknowledged record write within
 *     FUZZ_BOUND_MS, both while the server is still working through the attack and after it,
 *   - every frame the server sent decodes, and nothing was added to Object/Array.prototype.
 * At the end, once every client is gone, the server's registries are empty.
 *
 * Deterministic: a fixed seed, printed with the run count and time. Replay a failure with the
 * seed and path fast-check prints: FUZZ_SEED=… FUZZ_PATH=… node --conditions=source --import tsx --test test/fuzz.test.ts
 * Other knobs: FUZZ_RUNS (runs), FUZZ_BOUND_MS (health bound), FUZZ_SHRINK_MS (time given to
 * shrinking a failure), FUZZ_KNOWN (which of the hardening issue's attacks to generate, default all; see fuzz-frames.ts),
 * FUZZ_DEBUG (print each run's frames and time). `test/helpers/fuzz-show.ts PATH` prints a
 * counterexample decoded.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { binaryCodec } from '@deepstream-ts/core';
import { Attacker } from './helpers/attacker.ts';
import { batchArb, enabledKnown, frameArb, type Attack } from './helpers/fuzz-frames.ts';
import { HealthyClients } from './helpers/healthy-clients.ts';
import { describeExit, startServerProcess, type HookError, type ServerProcess } from './helpers/server-process.ts';
import { until } from '@deepstream-ts/core/testing';

const SEED = Number(process.env.FUZZ_SEED ?? 190_719);
const PATH = process.env.FUZZ_PATH;
const RUNS = Number(process.env.FUZZ_RUNS ?? 250);
const BOUND_MS = Number(process.env.FUZZ_BOUND_MS ?? 1000);
const SHRINK_MS = Number(process.env.FUZZ_SHRINK_MS ?? 30_000);
/** Below the runner's --test-timeout (120 s in scripts/test.sh). */
const TEST_TIMEOUT = Number(process.env.FUZZ_TIMEOUT_MS ?? 115_000);

/** ms after each run's checks before the server is checked once more. */
const SETTLE_MS = 15;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The same bytes fast-check replays: a seed and a path make every run reproducible. */
const replayHint = (details: { seed: number; counterexamplePath: string | null }) =>
  `replay: FUZZ_SEED=${details.seed}${details.counterexamplePath ? ` FUZZ_PATH=${details.counterexamplePath}` : ''} node --conditions=source --import tsx --test test/fuzz.test.ts`;

describe('fuzz: random and mutated frames', { timeout: TEST_TIMEOUT }, () => {
  it('the codec never throws on any bytes, and every message it decodes encodes again', () => {
    // The server echoes names, correlation ids and data of what it decoded into its replies.
    const bytes = fc.oneof(
      frameArb.map((frame) => (frame.kind === 'binary' ? frame.bytes : Buffer.from(frame.text))),
      fc.uint8Array({ maxLength: 200 }),
    );
    fc.assert(
      fc.property(bytes, (frame) => {
        const message = binaryCodec.decode(frame);
        if (message !== undefined) {
          assert.equal(typeof message.action, 'number');
          assert.equal(binaryCodec.decode(binaryCodec.encode(message))?.action, message.action);
        }
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });

  describe('a server with every plugin, in a child process', () => {
    let server: ServerProcess;
    let healthy: HealthyClients | undefined;
    /** How each server process that died went (more than one only while shrinking a crash). */
    const crashes: string[] = [];
    const hookErrors: HookError[] = [];

    /** Set when a failed run killed the server on purpose, so that the next candidate starts afresh. */
    let restart = false;

    async function ensureServer(): Promise<void> {
      if (!server.alive() && !restart) throw new Error('the server process died after the previous run had passed its checks');
      if (!restart && healthy !== undefined) return;
      healthy?.close();
      healthy = undefined;
      if (restart) {
        hookErrors.push(...server.hookErrors);
        server = await startServerProcess();
        restart = false;
      }
      healthy = await HealthyClients.connect(server.url);
    }

    before(async () => {
      server = await startServerProcess();
    });
    after(async () => {
      healthy?.close();
      await server?.stop();
    });

    it('stays up, keeps no stale registry entry, and serves healthy clients within the bound', async (t) => {
      const known = enabledKnown();
      t.diagnostic(`seed ${SEED}${PATH ? ` path ${PATH}` : ''}, ${RUNS} runs, health bound ${BOUND_MS} ms, known attacks on: ${known.join(',') || 'none'}`);
      const totals = { runs: 0, frames: 0, attackers: 0, worstEventMs: 0, worstWriteMs: 0 };
      let failedAt: number | undefined;
      /** Shrinking stops here at the latest, so that the report comes out before the test's timeout. */
      const lastShrink = Date.now() + TEST_TIMEOUT - 25_000;

      const run = async (batch: Attack[]) => {
        // While shrinking: once the budget is spent, every candidate passes, which ends the search.
        if (failedAt !== undefined && (Date.now() - failedAt > SHRINK_MS || Date.now() > lastShrink)) return;
        const t0 = Date.now();
        if (process.env.FUZZ_DEBUG) console.error(`run ${totals.runs} start: ${batch.map((a) => a.frames.map((f) => f.label).join(' | ')).join(' || ')}`.slice(0, 400));
        try {
          await ensureServer();
          const attackers = await Promise.all(batch.map((attack) => Attacker.open(server.url, attack.stage, attack.username)));
          batch.forEach((attack, i) => {
            for (const frame of attack.frames) attackers[i]!.sendFrame(frame);
            if (attack.closeAtOnce) attackers[i]!.close(i % 2 === 1);
          });
          // The frames are still being worked through: a legitimate user must not notice.
          const during = await healthy!.check(BOUND_MS);
          for (const attacker of attackers) attacker.close();
          const afterwards = await healthy!.check(BOUND_MS);
          const { prototypeAdditions } = await server.stats();
          assert.deepEqual(prototypeAdditions, [], 'a client added properties to Object.prototype or Array.prototype');
          for (const attacker of attackers) {
            assert.deepEqual(attacker.undecodable.map((b) => Buffer.from(b).toString('hex').slice(0, 200)), [], 'the server sent frames that do not decode');
          }
          // Work the attack started may fail a little later (a storage write, a timer): give it a moment
          // here, so that a crash is blamed on this run and not on the next one.
          await pause(SETTLE_MS);
          await server.stats();
          assert.ok(server.alive() && server.faults.length === 0, 'the server process died or reported a fault');
          totals.runs++;
          if (process.env.FUZZ_DEBUG) console.error(`run ok in ${Date.now() - t0} ms`);
          totals.attackers += batch.length;
          totals.frames += batch.reduce((sum, attack) => sum + attack.frames.length, 0);
          totals.worstEventMs = Math.max(totals.worstEventMs, during.eventMs, afterwards.eventMs);
          totals.worstWriteMs = Math.max(totals.worstWriteMs, during.writeMs, afterwards.writeMs);
        } catch (error) {
          failedAt ??= Date.now();
          // A dead server explains every other symptom: say so, with its stderr.
          await pause(100);
          const died = !server.alive();
          const faults = server.faults.map((f) => `${f.kind}: ${f.error}`).join('\n');
          if (died) crashes.push(describeExit(server));
          // The next candidate (while shrinking) gets a fresh server, so that the counterexample stands on its own.
          await server.kill();
          restart = true;
          if (died) throw new Error(`the server process died: ${crashes.at(-1)}`, { cause: error });
          if (faults !== '') throw new Error(`the server reported: ${faults}`, { cause: error });
          throw error;
        }
      };

      const started = performance.now();
      await fc.assert(fc.asyncProperty(batchArb, run), {
        seed: SEED,
        path: PATH,
        numRuns: RUNS,
        includeErrorInReport: true,
        asyncReporter: async (details) => {
          if (!details.failed) return;
          const message = fc.defaultReportMessage(details);
          // Shrinking repeats the crash many times: the first report in full, then how many more there were.
          const crashReport = crashes.length === 0 ? '' : `\n\nserver crashes while fuzzing: ${crashes.length}; the first:\n${crashes[0]}`;
          throw new Error(`${message}\n${replayHint(details)}${crashReport}`);
        },
      });
      const elapsed = (performance.now() - started) / 1000;
      t.diagnostic(
        `${totals.runs} runs (${totals.attackers} hostile connections, ${totals.frames} frames) in ${elapsed.toFixed(1)} s; ` +
          `worst healthy event round trip ${totals.worstEventMs.toFixed(0)} ms, write ack ${totals.worstWriteMs.toFixed(0)} ms`,
      );

      hookErrors.push(...server.hookErrors);
      if (hookErrors.length > 0) {
        const counts = new Map<string, number>();
        for (const e of hookErrors) counts.set(`${e.plugin} in ${e.hook}: ${e.error}`, (counts.get(`${e.plugin} in ${e.hook}: ${e.error}`) ?? 0) + 1);
        t.diagnostic(`plugins that threw (the kernel carried on): ${[...counts].map(([what, n]) => `${n}× ${what}`).join('; ')}`);
      }
      assert.deepEqual(server.faults, [], 'unhandled rejections or uncaught exceptions in the server');

      // Nothing an attacker did outlives it: with every client gone, every registry is empty.
      healthy?.close();
      healthy = undefined;
      await until(async () => (await server.stats()).sessions === 0, 'every connection is gone');
      const empty = async () => {
        const s = await server.stats();
        return s.eventSubscriptions + s.recordSubscriptions + s.rpc!.providedNames + s.rpc!.pendingCalls + s.rpc!.trackedProviders + s.rpc!.trackedRequestors +
          s.eventListeners!.patterns + s.eventListeners!.providers + s.eventListeners!.searches + s.recordListeners!.patterns + s.recordListeners!.providers +
          s.recordListeners!.searches + s.presence!.connections + s.presence!.everyoneSubscribers + s.presence!.userSubscriptions === 0;
      };
      await until(empty, 'every registry is empty').catch(async (error: Error) => {
        throw new Error(`${error.message}: ${JSON.stringify(await server.stats())}`);
      });
      assert.ok(server.alive(), describeExit(server));
    });
  });
});
