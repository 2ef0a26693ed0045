import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EVENT_ACTION, PRESENCE_ACTION, RECORD_ACTION, RPC_ACTION, TOPIC } from '@deepstream-ts/core';
import { parseJif } from '../src/jif.ts';
import { toOperation } from '../src/operations.ts';

describe('JIF requests', () => {
  it('become the messages a WebSocket client would send, each with its own correlationId', () => {
    const cases: Array<[unknown, object]> = [
      [{ topic: 'event', action: 'emit', eventName: 'e', data: { a: 1 } }, { topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'e', data: '{"a":1}' }],
      [{ topic: 'event', action: 'emit', eventName: 'e' }, { topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'e' }],
      [{ topic: 'rpc', action: 'make', rpcName: 'r', data: null }, { topic: TOPIC.RPC, action: RPC_ACTION.REQUEST, name: 'r', data: 'null' }],
      [{ topic: 'record', action: 'read', recordName: 'x' }, { topic: TOPIC.RECORD, action: RECORD_ACTION.READ, name: 'x' }],
      [{ topic: 'record', action: 'head', recordName: 'x' }, { topic: TOPIC.RECORD, action: RECORD_ACTION.HEAD, name: 'x' }],
      [{ topic: 'list', action: 'delete', listName: 'l' }, { topic: TOPIC.RECORD, action: RECORD_ACTION.DELETE, name: 'l' }],
      [
        { topic: 'record', action: 'write', recordName: 'x', data: { a: 1 } },
        { topic: TOPIC.RECORD, action: RECORD_ACTION.CREATEANDUPDATE, name: 'x', version: -1, data: '{"a":1}', isWriteAck: true },
      ],
      [
        { topic: 'record', action: 'write', recordName: 'x', path: 'a.b', data: null, version: 4 },
        { topic: TOPIC.RECORD, action: RECORD_ACTION.CREATEANDPATCH, name: 'x', version: 4, data: 'null', isWriteAck: true, path: 'a.b' },
      ],
      [
        { topic: 'list', action: 'write', listName: 'l', data: ['a'], version: 0 },
        { topic: TOPIC.RECORD, action: RECORD_ACTION.CREATEANDUPDATE, name: 'l', version: 0, data: '["a"]', isWriteAck: true },
      ],
      [{ topic: 'record', action: 'notify', recordNames: ['a', 'b'] }, { topic: TOPIC.RECORD, action: RECORD_ACTION.NOTIFY, names: ['a', 'b'] }],
      [{ topic: 'presence', action: 'query' }, { topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.QUERY_ALL }],
      [{ topic: 'presence', action: 'query', names: [] }, { topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.QUERY, names: [] }],
    ];
    for (const [request, message] of cases) {
      const parsed = parseJif(request);
      assert.notEqual(typeof parsed, 'string', `${JSON.stringify(request)}: ${String(parsed)}`);
      assert.deepEqual(toOperation(parsed as Exclude<typeof parsed, string>, 'c1').message, { ...message, correlationId: 'c1' });
    }
  });

  it('treat properties named like Object.prototype members as unexpected', () => {
    assert.equal(parseJif(JSON.parse('{"topic":"event","action":"emit","eventName":"e","__proto__":{}}')), 'unexpected property "__proto__" for event emit');
    assert.equal(parseJif({ topic: 'toString', action: 'emit' }), '"topic" must be one of event, rpc, record, list, presence');
    assert.equal(parseJif({ topic: 'event', action: 'constructor' }), '"action" of topic event must be one of emit');
  });
});
