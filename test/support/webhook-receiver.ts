// A real webhook receiver for tests: an HTTP listener on 127.0.0.1 that verifies every request's
// Standard Webhooks signature with the `standardwebhooks` library and answers what the test says.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  webhookId: string;
  body: any;
  headers: IncomingHttpHeaders;
  /** The status the receiver answered. */
  answered: number;
  /** Which of the receiver's secrets verified it. */
  verifiedWith: string[];
}

export interface WebhookReceiver {
  url: string;
  /** Every request, verified or not, in arrival order. */
  received: ReceivedWebhook[];
  /** Requests whose signature no secret verified. */
  unverified: number;
  /** Secrets to verify with (set after the endpoint is created). */
  secrets: string[];
  /** Decides each answer (default 200); may wait, e.g. to play a slow endpoint. */
  respond: (request: ReceivedWebhook, index: number) => number | Promise<number>;
  /** Events the receiver acknowledged, once per webhook-id, in first-acknowledged order. */
  acknowledged(): any[];
  /** Stops listening (connections are refused) until `up()` listens on the same port again. */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(path = '/hooks'): Promise<WebhookReceiver> {
  const receiver: WebhookReceiver = {
    url: '',
    received: [],
    unverified: 0,
    secrets: [],
    respond: () => 200,
    acknowledged() {
      const seen = new Set<string>();
      return this.received.filter((r) => r.answered >= 200 && r.answered < 300 && !seen.has(r.webhookId) && seen.add(r.webhookId)).map((r) => r.body);
    },
    down: async () => undefined,
    up: async () => undefined,
    close: async () => undefined,
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const payload = Buffer.concat(chunks).toString('utf8');
      const headers = req.headers as Record<string, string>;
      const verifiedWith = receiver.secrets.filter((secret) => {
        try {
          new Webhook(secret).verify(payload, headers);
          return true;
        } catch {
          return false;
        }
      });
      if (verifiedWith.length === 0) receiver.unverified += 1;
      const request: ReceivedWebhook = { webhookId: headers['webhook-id'] ?? '', body: JSON.parse(payload), headers: req.headers, answered: 0, verifiedWith };
      const index = receiver.received.push(request) - 1;
      void Promise.resolve(receiver.respond(request, index)).then((status) => {
        request.answered = status;
        if (!res.destroyed) res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'not now');
      });
    });
  });
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${port}${path}`;
  receiver.down = stop;
  receiver.up = () => listen(port);
  receiver.close = () => (server.listening ? stop() : Promise.resolve());
  return receiver;
}
