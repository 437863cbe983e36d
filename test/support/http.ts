// Helpers for tests that talk to a real listener and wait for eventually-consistent state.
import { setTimeout as delay } from 'node:timers/promises';

/** Polls `read` until `done` holds; errors while polling count as "not yet" (a server still starting). */
export async function eventually<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, options: { timeoutMs?: number; context?: () => string } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  let last: T | undefined;
  for (;;) {
    try {
      last = await read();
      if (done(last)) return last;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}; last: ${JSON.stringify(last)}${options.context ? `\n${options.context()}` : ''}`);
    await delay(200);
  }
}

export interface JsonResponse {
  status: number;
  body: any;
  headers: Headers;
}

/** One authenticated JSON request against `baseUrl`. */
export async function callJson(baseUrl: string, method: string, path: string, key: string, body?: unknown): Promise<JsonResponse> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}
