// RFC 9457 problem details: every error the API returns has this shape and media type.
import type { Context } from 'hono';
import type { ZodError } from 'zod';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface FieldError {
  field: string;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

/** Stable problem types; the URI is an identifier clients can switch on, not a page to fetch. */
export const PROBLEM_TYPES = {
  validation: { slug: 'validation-error', title: 'Request validation failed' },
  unauthorized: { slug: 'unauthorized', title: 'Missing or invalid API key' },
  forbidden: { slug: 'forbidden', title: 'The API key may not do this' },
  notFound: { slug: 'not-found', title: 'Resource not found' },
  conflict: { slug: 'conflict', title: 'Conflict with the current state' },
  inUse: { slug: 'in-use', title: 'Still in use' },
  invalidReference: { slug: 'invalid-reference', title: 'A referenced resource does not exist' },
  rateLimited: { slug: 'rate-limited', title: 'Too many requests for this API key' },
  referenceConflict: { slug: 'reference-conflict', title: 'Shipment reference already used with a different body' },
  tooLarge: { slug: 'payload-too-large', title: 'Request body too large' },
  unsupportedMediaType: { slug: 'unsupported-media-type', title: 'Unsupported media type' },
  headersTooLarge: { slug: 'request-header-fields-too-large', title: 'Request line or headers too large' },
  requestTimeout: { slug: 'request-timeout', title: 'Request not received in time' },
  malformedRequest: { slug: 'malformed-request', title: 'Malformed HTTP request' },
  signalFailed: { slug: 'signal-failed', title: 'Fixes stored but not yet delivered to the shipment workflow' },
  unavailable: { slug: 'service-unavailable', title: 'A dependency is unavailable' },
  internal: { slug: 'internal-error', title: 'Internal server error' },
} as const;

export type ProblemKind = keyof typeof PROBLEM_TYPES;

export function problemTypeUri(kind: ProblemKind): string {
  return `https://retrack.dev/problems/${PROBLEM_TYPES[kind].slug}`;
}

/** Thrown anywhere in a request; app.onError turns it into a problem response. */
export class ProblemError extends Error {
  readonly problem: Problem;
  readonly headers: Record<string, string>;

  constructor(kind: ProblemKind, status: number, detail: string, extra: { errors?: FieldError[]; headers?: Record<string, string>; [k: string]: unknown } = {}) {
    super(detail);
    const { headers, ...extensions } = extra;
    this.problem = { type: problemTypeUri(kind), title: PROBLEM_TYPES[kind].title, status, detail, ...extensions };
    this.headers = headers ?? {};
  }
}

export const notFound = (detail = 'No such resource for this tenant.'): ProblemError => new ProblemError('notFound', 404, detail);

export function validationProblem(errors: FieldError[], detail?: string): ProblemError {
  return new ProblemError('validation', 400, detail ?? `${errors.length} field(s) failed validation: ${errors.map((e) => e.field).join(', ')}`, { errors });
}

export function problemResponse(c: Context, problem: Problem, headers: Record<string, string> = {}): Response {
  return c.body(JSON.stringify({ ...problem, instance: problem.instance ?? c.req.path }), problem.status as 400, {
    ...headers,
    'content-type': PROBLEM_CONTENT_TYPE,
  });
}

/** `positions[3].lat` style names; query and path parameters are named as they appear in the URL. */
export function fieldName(path: readonly PropertyKey[]): string {
  let name = '';
  for (const segment of path) {
    if (typeof segment === 'number') name += `[${segment}]`;
    else name += name ? `.${String(segment)}` : String(segment);
  }
  return name || '(body)';
}

/** One entry per offending field; an unknown key is named itself, so the client sees which one. */
export function zodFieldErrors(error: ZodError): FieldError[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ field: fieldName([...issue.path, key]), message: issue.message }))
      : [{ field: fieldName(issue.path), message: issue.message }],
  );
}
