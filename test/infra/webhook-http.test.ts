// The webhook HTTP client against real listeners: SSRF rules before and after DNS resolution,
// no redirects followed, the response body capped, the timeout, and verifiable signatures.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { isPrivateAddress, sendWebhook, webhookUrlProblem, type WebhookHttpPolicy } from '../../infra/webhook-http.js';

const secret = `whsec_${Buffer.from('a'.repeat(32)).toString('base64')}`;
let server: Server;
let port: number;
const hits: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/redirect') return void res.writeHead(302, { location: '/landed' }).end();
    if (req.url === '/big') return void res.writeHead(500).end('x'.repeat(1_000_000));
    if (req.url === '/silent') return;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        new Webhook(secret).verify(Buffer.concat(chunks).toString('utf8'), req.headers as Record<string, string>);
        res.writeHead(204).end();
      } catch {
        res.writeHead(401).end('bad signature');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const allowLocal: WebhookHttpPolicy = { allowedHosts: ['127.0.0.1'], timeoutMs: 500, maxResponseBytes: 64 };
const strict: WebhookHttpPolicy = { allowedHosts: [], timeoutMs: 500, maxResponseBytes: 64 };
const message = { id: 'msg_1', body: JSON.stringify({ type: 'stop.arrived' }) };

describe('SSRF rules', () => {
  it('classifies private, loopback, link-local and mapped addresses', () => {
    for (const a of ['10.0.0.1', '127.0.0.1', '169.254.169.254', '172.20.1.1', '192.168.1.1', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1']) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect(isPrivateAddress(a), a).toBe(false);
  });

  it('wants https unless the host is allowlisted', () => {
    expect(webhookUrlProblem('http://hooks.example.com/', strict)).toBe('must use https');
    expect(webhookUrlProblem('https://hooks.example.com/', strict)).toBeUndefined();
    expect(webhookUrlProblem(`http://127.0.0.1:${port}/`, allowLocal)).toBeUndefined();
    expect(webhookUrlProblem('https://127.0.0.1/', strict)).toContain('private');
    expect(webhookUrlProblem('ftp://hooks.example.com/', strict)).toBe('must use https');
  });

  it('refuses at connect time a name that resolves to a private address, and sends nothing', async () => {
    const before = hits.length;
    const result = await sendWebhook(`https://localhost:${port}/hook`, message, [secret], strict);
    expect(result).toMatchObject({ ok: false, error: expect.stringMatching(/EPRIVATE: localhost resolves to a private address/) });
    expect(hits.length).toBe(before);
  });
});

describe('sendWebhook', () => {
  it('signs so that standardwebhooks verifies, with every secret given', async () => {
    expect(await sendWebhook(`http://127.0.0.1:${port}/hook`, message, [secret], allowLocal)).toMatchObject({ ok: true, status: 204 });
    const other = `whsec_${Buffer.from('b'.repeat(32)).toString('base64')}`;
    expect(await sendWebhook(`http://127.0.0.1:${port}/hook`, message, [other, secret], allowLocal)).toMatchObject({ ok: true, status: 204 });
    expect(await sendWebhook(`http://127.0.0.1:${port}/hook`, message, [other], allowLocal)).toMatchObject({ ok: false, status: 401, error: 'HTTP 401: bad signature' });
  });

  it('does not follow redirects', async () => {
    const result = await sendWebhook(`http://127.0.0.1:${port}/redirect`, message, [secret], allowLocal);
    expect(result).toMatchObject({ ok: false, status: 302, error: expect.stringContaining('redirects are not followed') });
    expect(hits).not.toContain('/landed');
  });

  it('reads the response body only up to the cap', async () => {
    const result = await sendWebhook(`http://127.0.0.1:${port}/big`, message, [secret], allowLocal);
    expect(result.status).toBe(500);
    expect(result.error).toBe(`HTTP 500: ${'x'.repeat(64)}`);
  });

  it('gives up after the timeout', async () => {
    const result = await sendWebhook(`http://127.0.0.1:${port}/silent`, message, [secret], allowLocal);
    expect(result).toMatchObject({ ok: false, error: 'no answer within 500 ms' });
    expect(result.status).toBeUndefined();
  });
});
