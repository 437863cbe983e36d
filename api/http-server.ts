// The API's HTTP listener. Node answers requests it cannot parse (a request line or headers past
// its 16 KB limit, bytes that are not HTTP) with a bare status line, and for a large request
// closes the socket while the client is still sending, which the client sees as a reset. Here
// every such request gets a problem+json answer, and the rest of what the client sends is read
// and dropped before the socket closes, so the client reads the answer.
import type { AddressInfo, Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { serve, type ServerType } from '@hono/node-server';
import { PROBLEM_CONTENT_TYPE, PROBLEM_TYPES, problemTypeUri, type ProblemKind } from './problem.js';

const DRAIN_LIMIT_MS = 5_000;

function parseFailure(code: string | undefined): { status: number; kind: ProblemKind; detail: string } {
  if (code === 'HPE_HEADER_OVERFLOW') {
    return { status: 431, kind: 'headersTooLarge', detail: 'The request line and headers exceed 16 KB; send long filters in fewer, shorter parameters.' };
  }
  if (code === 'HPE_REQUEST_TIMEOUT' || code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, kind: 'requestTimeout', detail: 'The request was not received in time.' };
  return { status: 400, kind: 'malformedRequest', detail: 'The request is not valid HTTP/1.1.' };
}

function answerUnparsable(error: NodeJS.ErrnoException, socket: Socket, answered: WeakSet<Socket>): void {
  // Node may report one bad request more than once while bytes keep arriving.
  if (answered.has(socket)) return;
  answered.add(socket);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const { status, kind, detail } = parseFailure(error.code);
  const body = JSON.stringify({ type: problemTypeUri(kind), title: PROBLEM_TYPES[kind].title, status, detail });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
  socket.resume();
  setTimeout(() => socket.destroy(), DRAIN_LIMIT_MS).unref();
}

/** Listens with `fetch` (the Hono app) on `port`; resolves once listening. */
export function serveApi(options: { fetch: (request: Request) => Response | Promise<Response>; port: number; hostname?: string }): Promise<{ server: ServerType; port: number }> {
  const answered = new WeakSet<Socket>();
  return new Promise((resolve) => {
    const server: ServerType = serve({ fetch: options.fetch, port: options.port, ...(options.hostname ? { hostname: options.hostname } : {}) }, (info: AddressInfo) =>
      resolve({ server, port: info.port }),
    );
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => answerUnparsable(error, socket, answered));
  });
}
