// One signed webhook request, with the SSRF rules: https only (plain http only for allowlisted
// hosts), every address the name resolves to must be public unless the host is allowlisted, the
// connection goes to the address that was checked (no second lookup to rebind), redirects are not
// followed (a 3xx is a failure), the response body is read up to a cap, and the attempt is
// abandoned after the timeout. Secrets and bodies are never logged.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface WebhookHttpPolicy {
  /** Hosts (names or IPs, lower case) that may use http and resolve to private addresses. */
  allowedHosts: readonly string[];
  timeoutMs: number;
  maxResponseBytes: number;
}

export const DEFAULT_WEBHOOK_HTTP_POLICY: WebhookHttpPolicy = { allowedHosts: [], timeoutMs: 5_000, maxResponseBytes: 4_096 };

export interface WebhookMessage {
  /** The `webhook-id`: the event's id, the same on every retry. */
  id: string;
  body: string;
}

export interface WebhookResult {
  ok: boolean;
  status?: number;
  latencyMs: number;
  /** Why it failed (status and the start of the body, or the network error); never a secret. */
  error?: string;
}

const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) PRIVATE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96]] as const) PRIVATE.addSubnet(net, prefix, 'ipv6');

/** Loopback, private, link-local, carrier-grade NAT, multicast and reserved addresses (IPv4-mapped IPv6 by its IPv4). */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

const hostOf = (url: URL): string => url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
const isAllowlisted = (url: URL, policy: WebhookHttpPolicy): boolean => policy.allowedHosts.includes(hostOf(url));

/** Why a URL may not be an endpoint (before any lookup), or undefined when it may. */
export function webhookUrlProblem(raw: string, policy: WebhookHttpPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.username || url.password) return 'must not carry credentials';
  const allowlisted = isAllowlisted(url, policy);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowlisted)) return 'must use https';
  if (!allowlisted && isIP(hostOf(url)) !== 0 && isPrivateAddress(hostOf(url))) return 'must not point at a private, loopback or link-local address';
  return undefined;
}

/** dns.lookup that refuses private answers unless the host is allowlisted; the socket connects to what it returns. */
function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const refused = allowPrivate ? undefined : addresses.find((a) => isPrivateAddress(a.address));
      if (refused) return callback(Object.assign(new Error(`${hostname} resolves to a private address (${refused.address})`), { code: 'EPRIVATE' }), '', 0);
      const chosen = addresses[0];
      if (!chosen) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, [chosen]);
      return callback(null, chosen.address, chosen.family);
    });
  };
}

/** Standard Webhooks signatures, one per secret (space-separated), so a receiver holding either verifies. */
export function signWebhook(message: WebhookMessage, secrets: readonly string[], at: Date): string {
  return secrets.map((secret) => new Webhook(secret).sign(message.id, at, message.body)).join(' ');
}

function readCapped(res: IncomingMessage, cap: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      if (size < cap) chunks.push(chunk.subarray(0, cap - size));
      size += chunk.length;
      if (size >= cap) res.destroy();
    });
    const done = () => resolve(Buffer.concat(chunks).toString('utf8'));
    res.on('end', done);
    res.on('close', done);
    res.on('error', done);
  });
}

/** Keep-alive connection pools: a reused socket stays connected to the address that was checked. */
export interface WebhookAgents {
  http: HttpAgent;
  https: HttpsAgent;
}

export function createWebhookAgents(): WebhookAgents {
  return { http: new HttpAgent({ keepAlive: true, maxSockets: 4 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 4 }) };
}

/** Sends one signed POST (on a fresh connection unless `agents` pool them); never throws. */
export async function sendWebhook(rawUrl: string, message: WebhookMessage, secrets: readonly string[], policy: WebhookHttpPolicy, agents?: WebhookAgents): Promise<WebhookResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const problem = webhookUrlProblem(rawUrl, policy);
  if (problem) return { ok: false, latencyMs: 0, error: `url ${problem}` };
  const url = new URL(rawUrl);
  const now = new Date();
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'ReTrackLogistics-Webhooks/1',
    'webhook-id': message.id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': signWebhook(message, secrets, now),
    'content-length': String(Buffer.byteLength(message.body)),
  };
  const https = url.protocol === 'https:';
  const send = https ? httpsRequest : httpRequest;
  const agent = agents ? (https ? agents.https : agents.http) : false;
  return new Promise<WebhookResult>((resolve) => {
    let settled = false;
    const finish = (result: WebhookResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const req = send(url, { method: 'POST', headers, lookup: guardedLookup(isAllowlisted(url, policy)), agent }, (res) => {
      void readCapped(res, policy.maxResponseBytes).then((body) => {
        const status = res.statusCode ?? 0;
        const ok = status >= 200 && status < 300;
        finish({ ok, status, latencyMs: elapsed(), ...(ok ? {} : { error: `HTTP ${status}${status >= 300 && status < 400 ? ' (redirects are not followed)' : ''}${body ? `: ${body.slice(0, 200)}` : ''}` }) });
      });
    });
    const timer = setTimeout(() => {
      finish({ ok: false, latencyMs: elapsed(), error: `no answer within ${policy.timeoutMs} ms` });
      req.destroy();
    }, policy.timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => finish({ ok: false, latencyMs: elapsed(), error: error.code ? `${error.code}: ${error.message}` : error.message }));
    req.end(message.body);
  });
}
