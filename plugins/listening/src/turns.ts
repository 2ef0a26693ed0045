import { fnv1a } from '@deepstream-ts/core';

/**
 * This node's place in the queue of nodes that may search a provider for `name`: 0 goes first.
 * Nodes with subscribers of the name go first, so that listeners on the subscriber's node are
 * asked before anyone else's, as they are on a single node: they take the ranks 0 to n-1 by
 * their place among all n nodes (so that several nodes whose first subscribers arrived at once,
 * each not yet knowing of the others, still take turns), the others n and up. The order is by
 * server name; with `spread` (`shuffleProviders`) hashed on node and name instead (rendezvous
 * hashing), so that first offers spread over the nodes. No message is needed.
 */
export function turnOf(serverName: string, peers: ReadonlySet<string>, name: string, subscribes: (node: string) => boolean, spread: boolean): number {
  if (peers.size === 0) return 0;
  const subscriber = subscribes(serverName);
  let rank = subscriber ? 0 : peers.size + 1;
  for (const peer of peers) if ((subscriber || !subscribes(peer)) && comesFirst(peer, serverName, name, spread)) rank++;
  return rank;
}

function comesFirst(node: string, other: string, name: string, spread: boolean): boolean {
  if (!spread) return node < other;
  const a = weight(node, name);
  const b = weight(other, name);
  return a > b || (a === b && node < other);
}

/** Node and name hashed together, unsigned. */
function weight(node: string, name: string): number {
  return fnv1a(name, fnv1a(`${node}\n`)) >>> 0;
}
