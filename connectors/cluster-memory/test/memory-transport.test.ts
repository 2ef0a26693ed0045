import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryHub } from '../src/index.ts';
import { clusterTransportContract } from '../../../test/contracts/cluster-transport.ts';

clusterTransportContract('memory', () => {
  const hub = new MemoryHub();
  return { transport: () => hub.transport() };
});

describe('MemoryHub', () => {
  it('is the same hub for the same name, and a different one for another', () => {
    assert.equal(MemoryHub.named('shared'), MemoryHub.named('shared'));
    assert.notEqual(MemoryHub.named('shared'), MemoryHub.named('other'));
    assert.equal(MemoryHub.named('shared').transport().description, 'memory:shared');
  });

  it('refuses a second node of the same name while the first is on the hub', async () => {
    const hub = new MemoryHub('names');
    const first = hub.transport();
    await first.start('a', () => undefined);
    await assert.rejects(hub.transport().start('a', () => undefined), /a node named "a" is already on memory hub "names"/);
    await first.close();
    const again = hub.transport();
    await again.start('a', () => undefined);
    assert.deepEqual(hub.nodes, ['a']);
    await again.close();
    assert.deepEqual(hub.nodes, []);
  });

  it('hands frames over on a later tick, never inside the publish', async () => {
    const hub = new MemoryHub();
    const [a, b] = [hub.transport(), hub.transport()];
    const got: string[] = [];
    await a.start('a', () => undefined);
    await b.start('b', (bytes) => got.push(Buffer.from(bytes).toString()));
    a.publish(Buffer.from('x'));
    a.publishTo('b', Buffer.from('y'));
    assert.deepEqual(got, []);
    await Promise.resolve();
    assert.deepEqual(got, ['x', 'y']);
    await Promise.all([a.close(), b.close()]);
  });
});
