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

/** The client went away before its body was read: there is nobody to answer. */
export class ClientGone extends Error {
  constructor() {
    super('the request closed before its body was read');
  }
}

/**
 * Reads and parses a JSON body of at most `limit` bytes. An oversize body (declared or streamed)
 * is read to its end and discarded, up to `drainLimit` bytes in all, so that the client is done
 * sending when its 413 arrives (answering mid-upload makes common clients see EPIPE or "socket
 * hang up" instead of the status). Past `drainLimit` the 413 is sent at once and the connection
 * closed. Rejects with an `HttpRefusal`, or with `ClientGone`.
 */
export function readJson(request: IncomingMessage, limit: number, drainLimit: number): Promise<unknown> {
  const tooLarge = new HttpRefusal(413, `Request body too large: the limit is ${limit} bytes.`);
  const declared = Number(request.headers['content-length']);
  if (declared > drainLimit) return Promise.reject(tooLarge);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= limit && !(declared > limit)) return void chunks.push(chunk);
      chunks.length = 0; // over the limit: from here on only counted
      if (size > drainLimit) {
        request.off('data', onData).off('end', onEnd);
        request.resume();
        reject(tooLarge);
      }
    };
    const onEnd = () => {
      if (size > limit || declared > limit) return reject(tooLarge);
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (error) {
        reject(new HttpRefusal(400, `Failed to parse body of request: ${(error as Error).message}`));
      }
    };
    // After 'end' (or a refusal) these rejections are no-ops; before it, the client went away.
    request.on('data', onData).on('end', onEnd).once('error', () => reject(new ClientGone()));
    request.once('close', () => reject(new ClientGone()));
  });
}

/** Success bodies: JSON followed by a blank line, as the reference sends them. */
export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\r\n\r\n`; // before writeHead: if it throws, a 500 can still be sent
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  response.end(text);
}

/** An answer sent before the whole body arrived closes the connection: the rest is not worth reading. */
export function closeIfUnread(request: IncomingMessage, response: ServerResponse): void {
  if (!request.complete) response.setHeader('Connection', 'close');
}
