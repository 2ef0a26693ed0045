import type { IncomingMessage, ServerResponse } from 'node:http';

/** A request the API refuses, with the status and text body the reference sends (HTTP_AND_CONFIG §1). */
export class HttpRefusal {
  constructor(
    readonly status: number,
    readonly text: string,
  ) {}
}

const JSON_MEDIA_TYPE = 'application/json';

/** `application/json`, with or without parameters such as `; charset=utf-8`. */
export function isJsonContentType(header: string | undefined): boolean {
  return header !== undefined && header.split(';', 1)[0]!.trim().toLowerCase() === JSON_MEDIA_TYPE;
}

/**
 * Reads and parses a JSON body of at most `limit` bytes. A declared length over the limit is
 * refused before a byte is read; an undeclared one as soon as the limit is passed (the rest is
 * drained, not stored). Rejects with an `HttpRefusal`, or with the stream's error when the client
 * went away.
 */
export function readJson(request: IncomingMessage, limit: number): Promise<unknown> {
  const tooLarge = new HttpRefusal(413, `Request body too large: the limit is ${limit} bytes.`);
  if (Number(request.headers['content-length']) > limit) return Promise.reject(tooLarge);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= limit) return void chunks.push(chunk);
      request.off('data', onData).off('end', onEnd);
      request.resume();
      reject(tooLarge);
    };
    const onEnd = () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (error) {
        reject(new HttpRefusal(400, `Failed to parse body of request: ${(error as Error).message}`));
      }
    };
    // After 'end' (or a refusal) these rejections are no-ops; before it, the client went away.
    request.on('data', onData).on('end', onEnd).once('error', reject);
    request.once('close', () => reject(new Error('the request closed before its body was read')));
  });
}

/** Success bodies: JSON followed by a blank line, as the reference sends them. */
export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  response.end(`${JSON.stringify(body)}\r\n\r\n`);
}

/** A refusal sent before the whole body arrived (413) closes the connection: the rest is not worth reading. */
export function closeIfUnread(request: IncomingMessage, response: ServerResponse): void {
  if (!request.complete) response.setHeader('Connection', 'close');
}
