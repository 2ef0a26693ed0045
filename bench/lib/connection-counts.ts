/** What every subscriber worker reports about its connections, whatever else it checks. */
export interface ConnectionCounts {
  connections: number;
  received: number;
  minPerConnection: number;
  maxPerConnection: number;
  /** ms of the first / last message received, 0 if none (each worker type says which clock). */
  firstAt: number;
  lastAt: number;
  /** Connections the server closed. */
  closed: number;
  /** Every first message passed the full check. */
  verified: boolean;
}

/** The start of a sum over workers. */
export function noConnections(): ConnectionCounts {
  return { connections: 0, received: 0, minPerConnection: Infinity, maxPerConnection: 0, firstAt: Infinity, lastAt: 0, closed: 0, verified: true };
}

/** Adds one worker's connection counts to `total`: sums, the extremes, the first and last message. */
export function addConnections(total: ConnectionCounts, c: ConnectionCounts): void {
  total.connections += c.connections;
  total.received += c.received;
  total.minPerConnection = Math.min(total.minPerConnection, c.minPerConnection);
  total.maxPerConnection = Math.max(total.maxPerConnection, c.maxPerConnection);
  if (c.firstAt > 0) total.firstAt = Math.min(total.firstAt, c.firstAt);
  total.lastAt = Math.max(total.lastAt, c.lastAt);
  total.closed += c.closed;
  total.verified &&= c.verified;
}
