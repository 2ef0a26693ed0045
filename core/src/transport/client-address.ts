import type { IncomingMessage } from 'node:http';

/**
 * The address a request came from, as every per-address limit sees it (login backoff, the cap on
 * connections not logged in, rate limits). By default the socket's peer: `X-Forwarded-For` is
 * written by whoever sends the request, so trusting it would let any client pick a fresh address
 * for every guess. With `trustProxy` (behind one reverse proxy that appends the header) it is the
 * header's last entry: the address the proxy itself saw.
 */
export function clientAddress(request: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const header = request.headers['x-forwarded-for'];
    const value = Array.isArray(header) ? header[header.length - 1] : header;
    const last = value?.slice(value.lastIndexOf(',') + 1).trim();
    if (last) return last;
  }
  return request.socket.remoteAddress ?? 'unknown';
}
