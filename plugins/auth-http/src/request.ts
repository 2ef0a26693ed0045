/** What the webhook answered, body read as text. */
export interface WebhookResponse {
  status: number;
  /** The Content-Type says JSON. */
  json: boolean;
  body: string;
}

/** An answer that is not worth retrying because it makes no sense (too big, a bad redirect). */
export class InvalidResponse extends Error {}

/** An authentication answer is small; anything bigger is a misbehaving endpoint. */
const MAX_BODY_BYTES = 64 * 1024;
/** SECURITY §2.3: up to two redirects are followed. */
const MAX_REDIRECTS = 2;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * POSTs `body` to `url`, following up to two redirects (POST and body kept, never from https down
 * to http). `signal` bounds the whole exchange, body included. Network failures reject as fetch does.
 */
export async function post(url: URL, body: string, headers: Headers, signal: AbortSignal): Promise<WebhookResponse> {
  let target = url;
  for (let redirects = 0; ; redirects++) {
    const response = await fetch(target, { method: 'POST', body, headers, redirect: 'manual', signal });
    const location = response.headers.get('location');
    if (REDIRECT_STATUSES.has(response.status) && location !== null && redirects < MAX_REDIRECTS) {
      await response.body?.cancel();
      const next = new URL(location, target);
      const downgrade = target.protocol === 'https:' && next.protocol !== 'https:';
      if (downgrade || (next.protocol !== 'http:' && next.protocol !== 'https:')) throw new InvalidResponse(`a redirect to ${next.protocol}// was refused`);
      target = next;
      continue;
    }
    const json = /json/i.test(response.headers.get('content-type') ?? '');
    return { status: response.status, json, body: await readCapped(response) };
  }
}

async function readCapped(response: Response): Promise<string> {
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) throw new InvalidResponse(`the response body is over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
