/**
 * Tokens across two nodes in one process (a memory hub): a logout whose broadcast is lost is
 * repaired by the shared table's checksum. (Three real processes over Redis: test/cluster-http.test.ts.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clusterMemory, MemoryHub } from '@deepstream-ts/cluster-memory';
import { startTestServer } from '@deepstream-ts/core/testing';
import httpApi from '@deepstream-ts/plugin-http-api';
import { pause, post, strictAuth, testPermissions } from './helpers.ts';
import authOpen from '@deepstream-ts/plugin-auth-open';
import records from '@deepstream-ts/plugin-records';

/** A hub that loses every broadcast while `lossy` is set, as a Redis blip shorter than the node timeout does. */
class LossyHub extends MemoryHub {
  lossy = false;
  override broadcast(from: string, bytes: Uint8Array): void {
    if (!this.lossy) super.broadcast(from, bytes);
  }
}

describe('HTTP API tokens on two nodes', () => {
  it('refuses a revoked token on the other node within seconds even when the logout broadcast was lost', async () => {
    const hub = new LossyHub();
    const nodes = [];
    for (const serverName of ['a', 'b']) {
      nodes.push(await startTestServer({ serverName, plugins: [testPermissions, strictAuth, authOpen, records, httpApi, clusterMemory.with({ hub })] }));
    }
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    try {
      await pause(300);
      const base = (node: typeof a) => `http://127.0.0.1:${node.port}`;
      const { token } = (await post(`${base(a)}/api/auth`, { username: 'carol' })).json as { token: string };
      const notify = (node: typeof a) => post(`${base(node)}/api`, { token, body: [{ topic: 'record', action: 'notify', recordNames: ['admin/settings'] }] });
      assert.equal((await notify(b)).json?.result, 'SUCCESS', 'issued on a, accepted on b');

      hub.lossy = true;
      assert.equal((await post(`${base(a)}/api/auth/logout`, { token })).status, 200);
      await pause(50);
      hub.lossy = false;
      assert.equal((await notify(a)).status, 401);
      assert.equal((await notify(b)).status, 200, 'b never heard of the logout');

      const giveUp = Date.now() + 8000;
      while ((await notify(b)).status !== 401) {
        assert.ok(Date.now() < giveUp, 'the lost revocation was never repaired');
        await pause(200);
      }
    } finally {
      await Promise.allSettled(nodes.map((node) => node.stop()));
    }
  });
});
