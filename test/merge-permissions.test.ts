/**
 * Merged writes and permission rules (RECORDS.md "Merge strategies", SECURITY §3.5): a rule judges
 * the data a merge will store, not the stale data the writer sent.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RECORD_ACTION, TOPIC, type Message } from '@deepstream-ts/core';
import { RawClient, startTestServer } from '@deepstream-ts/core/testing';
import authOpen from '@deepstream-ts/plugin-auth-open';
import records from '@deepstream-ts/plugin-records';
import valve from '@deepstream-ts/plugin-permissions-valve';

const R = RECORD_ACTION;
const record = (fields: Partial<Message>): Message => ({ topic: TOPIC.RECORD, action: R.UPDATE, ...fields }) as Message;

describe('merged writes under Valve rules', async () => {
  const server = await startTestServer({
    plugins: [
      authOpen,
      records.with({ merge: [{ names: 'budget/*', strategy: 'paths' }] }),
      valve.with({
        permissions: {
          record: { '*': { create: true, read: true, write: true, delete: true }, 'budget/*': { write: 'data.a + data.b <= 10' } },
          event: { '*': { publish: true, subscribe: true } },
          rpc: { '*': { provide: true, request: true } },
          presence: { '*': { allow: true } },
        },
      }),
    ],
  });
  const clients: RawClient[] = [];
  after(async () => {
    for (const c of clients) c.close();
    await server.stop();
  });
  async function login(name: string): Promise<RawClient> {
    const c = await RawClient.login(server.url);
    c.ws.on('error', () => undefined);
    clients.push(c);
    c.send(record({ action: R.SUBSCRIBECREATEANDREAD, names: [name], correlationId: 's' }));
    await c.next((m) => m.action === R.READ_RESPONSE);
    return c;
  }
  const reply = (c: RawClient, id: string) => c.next((m) => m.correlationId === id && m.action !== R.SUBSCRIBECREATEANDREAD);

  it('judges the merged data: a stale update that sums over the limit with the latest is denied', async () => {
    const name = `budget/${Date.now()}`;
    const [x, y, z] = [await login(name), await login(name), await login(name)];
    x.send(record({ name, version: 1, data: '{"a":0,"b":0}', isWriteAck: true, correlationId: '1' }));
    assert.equal((await reply(x, '1')).action, R.WRITE_ACKNOWLEDGEMENT);
    x.send(record({ action: R.PATCH, name, version: 2, path: 'a', data: '6', isWriteAck: true, correlationId: '2' }));
    assert.equal((await reply(x, '2')).action, R.WRITE_ACKNOWLEDGEMENT);
    // Based on version 1: alone each sums to at most 6, merged with a = 6 only z's stays within 10.
    y.send(record({ name, version: 2, data: '{"a":0,"b":6}', isWriteAck: true, correlationId: 'y' }));
    z.send(record({ name, version: 2, data: '{"a":0,"b":3}', isWriteAck: true, correlationId: 'z' }));
    assert.equal((await reply(y, 'y')).action, R.MESSAGE_DENIED);
    assert.equal((await reply(z, 'z')).action, R.WRITE_ACKNOWLEDGEMENT);
    const merged = await z.next((m) => m.action === R.UPDATE && m.version === 3);
    assert.deepEqual(JSON.parse(merged.data!), { a: 6, b: 3 });
  });
});
