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

/** FNV-1a of node and name, unsigned. */
function weight(node: string, name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < node.length; i++) h = Math.imul(h ^ node.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 0x0a, 0x01000193);
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
