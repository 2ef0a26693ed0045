import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { ClusterNode, ReplicatedSet, STATE_ACTION, TOPIC, type ClusterBus } from '@deepstream-ts/core';
import { MemoryHub } from '@deepstream-ts/cluster-memory';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
const quiet = pino({ level: 'silent' });

/** A cluster node on `hub`, not started yet: sets made on it now are in place when it joins. */
const nodeOn = (hub: MemoryHub, name: string) => {
  const bus = new ClusterNode(name, quiet);
  return { bus, start: () => bus.start(hub.transport(), { keepAliveInterval: 1000, nodeTimeout: 3000 }) };
};

/** A set on each of `names` nodes joined by one memory hub, with what each set's watcher saw. */
async function cluster(...names: string[]) {
  const hub = new MemoryHub();
  const nodes = names.map((name) => {
    const { bus, start } = nodeOn(hub, name);
    const set = new ReplicatedSet(bus, 'test/set');
    const seen: string[] = [];
    set.watch({ added: (n) => seen.push(`+${n}`), removed: (n) => seen.push(`-${n}`) });
    return { bus, set, seen, start };
  });
  for (const node of nodes) await node.start();
  await tick();
  return nodes;
}

describe('ReplicatedSet', () => {
  it('reports a name once when it first appears anywhere and once when its last holder drops it', async () => {
    const [a, b] = await cluster('a', 'b');
    a!.set.add('x');
    await tick();
    b!.set.add('x');
    await tick();
    assert.ok(a!.set.has('x') && b!.set.has('x'));
    assert.deepEqual([...b!.set.remoteHolders('x')], ['a']);
    a!.set.delete('x');
    await tick();
    assert.deepEqual(a!.seen, ['+x'], 'b still holds it');
    b!.set.delete('x');
    await tick();
    assert.deepEqual(a!.seen, ['+x', '-x']);
    assert.deepEqual(b!.seen, ['+x', '-x']);
    assert.equal(a!.set.size, 0);
  });

  it('sends its state to a node that joins later, and forgets the names of a node that leaves', async () => {
    const hub = new MemoryHub();
    const nodeA = nodeOn(hub, 'a');
    const a = new ReplicatedSet(nodeA.bus, 'test/set');
    await nodeA.start();
    a.add('early');
    const nodeB = nodeOn(hub, 'b');
    const busB = nodeB.bus;
    const b = new ReplicatedSet(busB, 'test/set');
    await nodeB.start();
    await tick();
    assert.deepEqual([...b.names()], ['early']);
    const removed: string[] = [];
    a.watch({ removed: (n) => removed.push(n) });
    b.add('from-b');
    await tick();
    assert.ok(a.has('from-b'));
    await busB.close();
    assert.deepEqual(removed, ['from-b']);
    assert.equal(a.has('from-b'), false);
  });

  it('notices a missed transition by its checksum and recovers the full state', async () => {
    const [nodeA, nodeB] = await cluster('a', 'b');
    const [busA, a, b] = [nodeA!.bus, nodeA!.set, nodeB!.set];
    a.add('one');
    await tick();
    // b misses a's ADD of "two": the message is lost on the way.
    const send = busA.send.bind(busA);
    busA.send = () => undefined;
    a.add('two');
    busA.send = send;
    await tick();
    assert.deepEqual([...b.names()], ['one']);
    a.add('three'); // its checksum no longer matches what b has of a
    await tick();
    await tick();
    assert.deepEqual([...b.names()].sort(), ['one', 'three', 'two']);
    a.close();
    b.close();
  });

  it('repeats its checksum, so that a lost last message is repaired without any new change', async () => {
    const hub = new MemoryHub();
    const [nodeA, nodeB] = [nodeOn(hub, 'a'), nodeOn(hub, 'b')];
    const busA = nodeA.bus;
    const a = new ReplicatedSet(busA, 'test/set', 20);
    const b = new ReplicatedSet(nodeB.bus, 'test/set', 20);
    await nodeA.start();
    await nodeB.start();
    a.add('kept');
    a.add('dropped');
    await tick();
    assert.deepEqual([...b.names()].sort(), ['dropped', 'kept']);
    // a's REMOVE of "dropped" is lost on the way, and nothing changes on a afterwards.
    const send = busA.send.bind(busA);
    busA.send = () => undefined;
    a.delete('dropped');
    busA.send = send;
    const keepAlive = setTimeout(() => undefined, 1000);
    await new Promise((resolve) => setTimeout(resolve, 80));
    clearTimeout(keepAlive);
    assert.deepEqual([...b.names()], ['kept']);
    a.close();
    b.close();
  });

  it('ignores malformed state messages', async () => {
    const [a, b] = await cluster('a', 'b');
    (a!.bus as ClusterBus).send('test/set', { topic: TOPIC.STATE_REGISTRY, action: STATE_ACTION.ADD });
    await tick();
    assert.equal(b!.set.size, 0);
  });
});
