import { fnv1a } from '@deepstream-ts/core';

/**
 * This node's place in the queue of nodes that may search a provider for `name`: 0 goes first.
 * Every node computes the same order (rendezvous hashing on node and name) without a message,
 * and the order differs per name, so that first offers spread over the nodes.
 */
export function turnOf(serverName: string, peers: ReadonlySet<string>, name: string): number {
  if (peers.size === 0) return 0;
  const own = weight(serverName, name);
  let rank = 0;
  for (const peer of peers) {
    const other = weight(peer, name);
    if (other > own || (other === own && peer < serverName)) rank++;
  }
  return rank;
}

/** Node and name hashed together, unsigned. */
function weight(node: string, name: string): number {
  return fnv1a(name, fnv1a(`${node}\n`)) >>> 0;
}
