// Every string a request can carry (path, query, headers, body, at any depth) must be built from
// the shared text primitive (api/primitives.ts), so NUL and unpaired surrogates are refused
// everywhere. This walks the zod schemas of every route the app registers: a new plain z.string()
// in a request fails here, naming the route and the field.
import { describe, expect, it } from 'vitest';
import type { ZodType } from 'zod';
import { createApp } from '../../api/app.js';
import { isSafeText } from '../../api/primitives.js';
import { createDatabase } from '../../db/connection.js';
import { createLogger } from '../../infra/logger.js';
import type { Client } from '@temporalio/client';

interface Def {
  type: string;
  checks?: { _zod: { def: { check: string; fn?: unknown } } }[];
  [key: string]: unknown;
}

const defOf = (schema: unknown): Def => (schema as { _zod: { def: Def } })._zod.def;

/** Paths (route › field) of every string schema under `schema` without the safe-text check. */
function unsafeStrings(schema: unknown, at: string, seen = new Set<unknown>()): string[] {
  if (!schema || seen.has(schema)) return [];
  seen.add(schema);
  const def = defOf(schema);
  const walk = (child: unknown, name: string) => unsafeStrings(child, name, seen);
  switch (def.type) {
    case 'string':
      return def.checks?.some((check) => check._zod.def.fn === isSafeText) ? [] : [at];
    case 'object':
      return Object.entries(def.shape as Record<string, unknown>).flatMap(([key, child]) => walk(child, `${at}.${key}`));
    case 'array':
      return walk(def.element, `${at}[]`);
    case 'tuple':
      return [...(def.items as unknown[]).map((item, i) => walk(item, `${at}[${i}]`)).flat(), ...walk(def.rest, `${at}[…]`)];
    case 'record':
      return [...walk(def.keyType, `${at}{key}`), ...walk(def.valueType, `${at}{value}`)];
    case 'union':
      return (def.options as unknown[]).flatMap((option) => walk(option, at));
    case 'intersection':
      return [...walk(def.left, at), ...walk(def.right, at)];
    case 'pipe':
      return [...walk(def.in, at), ...walk(def.out, at)];
    case 'lazy':
      return walk((def.getter as () => unknown)(), at);
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return walk(def.innerType, at);
    default:
      return [];
  }
}

interface RouteDefinition {
  type: string;
  route: {
    method: string;
    path: string;
    request?: { params?: ZodType; query?: ZodType; headers?: ZodType; body?: { content: Record<string, { schema: ZodType }> } };
  };
}

function routes(): RouteDefinition['route'][] {
  // The schemas are all there is to read: no query is made.
  const db = createDatabase('postgres://postgres@127.0.0.1:1/never-connected');
  const app = createApp({ db, temporal: {} as Client, logger: createLogger({ name: 'walk', level: 'silent' }) });
  void db.destroy();
  return (app.openAPIRegistry.definitions as RouteDefinition[]).filter((d) => d.type === 'route').map((d) => d.route);
}

describe('request strings', () => {
  const all = routes();

  it('finds the routes and their string fields', () => {
    expect(all.length).toBeGreaterThan(35);
    const create = all.find((r) => r.method === 'post' && r.path === '/v1/shipments')!;
    // The walker sees nested fields: a plain string in a stop would be reported.
    expect(unsafeStrings({ _zod: { def: { type: 'object', shape: { name: { _zod: { def: { type: 'string', checks: [] } } } } } } }, 'probe')).toEqual(['probe.name']);
    expect(create.request?.body).toBeDefined();
  });

  it('are all built from the text primitive', () => {
    const offenders = all.flatMap((route) => {
      const name = `${route.method.toUpperCase()} ${route.path}`;
      const request = route.request ?? {};
      return [
        ...unsafeStrings(request.params, `${name} path`),
        ...unsafeStrings(request.query, `${name} query`),
        ...unsafeStrings(request.headers, `${name} headers`),
        ...Object.entries(request.body?.content ?? {}).flatMap(([type, { schema }]) => unsafeStrings(schema, `${name} body(${type})`)),
      ];
    });
    expect(offenders).toEqual([]);
  });
});
