// The simulator talks to the platform exactly as a tenant system or a device would: HTTP + JSON
// with a bearer key. Retries with exponential back-off (full jitter) on 429, 5xx and network
// errors, honouring Retry-After. A retried request is one logical send: callers get a single
// result carrying how many attempts it took, so no fix is ever counted twice.
import type { Fix } from '../domain/types.js';

export type Sleep = (ms: number) => Promise<void>;
export const sleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export interface AttemptRecord {
  method: string;
  path: string;
  /** HTTP status, or 0 when no response came back (network error, timeout). */
  status: number;
  latencyMs: number;
  attempt: number;
}

export interface ApiClientOptions {
  baseUrl: string;
  apiKey: string;
  maxRetries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
  sleep?: Sleep;
  random?: () => number;
  /** Called after every attempt (latency histograms). */
  onAttempt?: (attempt: AttemptRecord) => void;
}

export interface ApiResult<T = unknown> {
  status: number;
  body: T;
  attempts: number;
  /**
   * An earlier attempt failed in a way that may have taken effect (5xx or no response), so a
   * "duplicate" in the final answer may be this very request's own earlier write.
   */
  ambiguousRetry: boolean;
  /** Why the last attempt got no response at all (status 0). */
  networkError?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly method: string,
    readonly path: string,
  ) {
    super(`${method} ${path} → ${status}: ${typeof body === 'object' && body && 'detail' in body ? String(body.detail) : JSON.stringify(body)}`);
  }
}

export interface PositionsOutcome {
  status: number;
  accepted: number;
  duplicates: number;
  /** The API stored them inside the shipment's calm zone: its workflow reads them within the deferral window. */
  deferred: boolean;
  attempts: number;
  ambiguousRetry: boolean;
}

export interface Capabilities {
  /** Fleet resources (carriers, vehicles, drivers, devices) can be created. */
  fleet: boolean;
  /** Device-role keys can be issued through /v1/api-keys. */
  apiKeys: boolean;
  /** POST /v1/positions routes a device's fixes to its shipment. */
  devicePositions: boolean;
  /** Property names accepted by a POST body, per path, when the OpenAPI document says so. */
  bodyFields: (path: string) => ReadonlySet<string> | undefined;
  /** Threshold names POST /v1/shipments accepts (new ones appear as anomaly rules land). */
  thresholdFields?: ReadonlySet<string>;
}

const RETRYABLE = new Set([429, 500, 502, 503, 504]);

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

type JsonSchema = { $ref?: string; properties?: Record<string, JsonSchema>; allOf?: JsonSchema[] };
type OpenApiDocument = {
  paths?: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>>;
  components?: { schemas?: Record<string, JsonSchema> };
};

function resolve(doc: OpenApiDocument, schema: JsonSchema | undefined): JsonSchema | undefined {
  let current = schema;
  for (let hops = 0; current?.$ref && hops < 10; hops++) current = doc.components?.schemas?.[current.$ref.split('/').pop()!];
  if (current?.allOf) return { properties: Object.assign({}, ...current.allOf.map((s) => resolve(doc, s)?.properties ?? {})) };
  return current;
}

export class ApiClient {
  private readonly options: Required<Omit<ApiClientOptions, 'onAttempt'>> & Pick<ApiClientOptions, 'onAttempt'>;

  constructor(options: ApiClientOptions) {
    this.options = {
      maxRetries: 6,
      baseDelayMs: 200,
      maxDelayMs: 15_000,
      timeoutMs: 30_000,
      fetch: globalThis.fetch,
      sleep,
      random: Math.random,
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      apiKey: options.apiKey,
    };
  }

  /** The same client speaking with another key (a device's own key). */
  withKey(apiKey: string): ApiClient {
    return new ApiClient({ ...this.options, apiKey });
  }

  /** Sends with retries; answers with the final status whatever it is (never throws on HTTP errors). */
  async send<T = unknown>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
    const { maxRetries, baseDelayMs, maxDelayMs, timeoutMs, random, onAttempt } = this.options;
    let ambiguousRetry = false;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      let response: Response | undefined;
      let parsed: unknown;
      let networkError: string | undefined;
      try {
        const doFetch = this.options.fetch;
        response = await doFetch(`${this.options.baseUrl}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${this.options.apiKey}`,
            accept: 'application/json, application/problem+json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await response.text();
        parsed = text ? safeJson(text) : undefined;
      } catch (error) {
        response = undefined;
        const cause = (error as { cause?: { message?: string } }).cause?.message;
        networkError = `${(error as Error).message}${cause ? ` (${cause})` : ''}`;
      }
      const status = response?.status ?? 0;
      onAttempt?.({ method, path, status, latencyMs: performance.now() - started, attempt });
      const retryable = status === 0 || RETRYABLE.has(status);
      if (!retryable || attempt > maxRetries) {
        return { status, body: (networkError ?? parsed) as T, attempts: attempt, ambiguousRetry, ...(networkError ? { networkError } : {}) };
      }
      if (status !== 429) ambiguousRetry = true;
      const backoff = random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
      const retryAfter = parseRetryAfter(response?.headers.get('retry-after') ?? null, Date.now());
      await this.options.sleep(retryAfter !== undefined ? Math.min(retryAfter, 60_000) + backoff / 10 : backoff);
    }
  }

  /** Sends and returns the body of a 2xx answer; anything else throws ApiError. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const result = await this.send<T>(method, path, body);
    if (result.status < 200 || result.status >= 300) throw new ApiError(result.status, result.body, method, path);
    return result.body;
  }

  async capabilities(): Promise<Capabilities> {
    const result = await this.send<OpenApiDocument>('GET', '/openapi.json');
    const doc = result.status === 200 && result.body ? result.body : {};
    const paths = doc.paths ?? {};
    const has = (p: string) => p in paths;
    const bodyFields = (path: string): ReadonlySet<string> | undefined => {
      const schema = resolve(doc, paths[path]?.post?.requestBody?.content?.['application/json']?.schema);
      return schema?.properties ? new Set(Object.keys(schema.properties)) : undefined;
    };
    const createSchema = resolve(doc, paths['/v1/shipments']?.post?.requestBody?.content?.['application/json']?.schema);
    const thresholds = resolve(doc, createSchema?.properties?.thresholds);
    return {
      fleet: ['/v1/carriers', '/v1/vehicles', '/v1/drivers', '/v1/devices'].every(has),
      apiKeys: has('/v1/api-keys'),
      devicePositions: has('/v1/positions'),
      bodyFields,
      thresholdFields: thresholds?.properties ? new Set(Object.keys(thresholds.properties)) : undefined,
    };
  }

  postShipmentPositions(shipmentId: string, positions: Fix[]): Promise<PositionsOutcome> {
    return this.positions(`/v1/shipments/${encodeURIComponent(shipmentId)}/positions`, { positions });
  }

  postDevicePositions(deviceId: string, positions: Fix[]): Promise<PositionsOutcome> {
    return this.positions('/v1/positions', { deviceId, positions });
  }

  private async positions(path: string, body: unknown): Promise<PositionsOutcome> {
    const result = await this.send<{ accepted?: number; duplicates?: number; deferred?: boolean }>('POST', path, body);
    return {
      status: result.status,
      accepted: result.body?.accepted ?? 0,
      duplicates: result.body?.duplicates ?? 0,
      deferred: result.body?.deferred === true,
      attempts: result.attempts,
      ambiguousRetry: result.ambiguousRetry,
    };
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
