// Web console sign-in: an API key (in the JSON body, never a URL) exchanged for a session cookie;
// who is signed in; sign-out. See api/sessions.ts for what the cookie carries and how it is checked.
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import type { ApiKeyRole } from '../../db/schema.js';
import { API_KEY_ROLES } from '../auth.js';
import type { AppEnv, RouteDeps } from '../context.js';
import { publicRoute, secured } from '../permissions.js';
import { ProblemError } from '../problem.js';
import { createRouter } from '../router.js';
import { problemResponses, text } from '../schemas.js';
import { assertSameOrigin, isHttps, SESSION_COOKIE, sessionIdOf, type ConsoleSessions } from '../sessions.js';

const SignInSchema = z
  .strictObject({ apiKey: text({ min: 1, max: 200 }) })
  .openapi('SignIn', { example: { apiKey: 'rtk_<keyId>_<secret>' } });

const SessionSchema = z
  .object({
    tenantId: z.string(),
    keyId: z.string(),
    role: z.enum(API_KEY_ROLES as [ApiKeyRole, ...ApiKeyRole[]]),
    expiresAt: z.string().optional().openapi({ description: 'When the console session ends (absent when the call used a Bearer key)' }),
  })
  .openapi('ConsoleSession');

const tags = ['Console'];

const signInRoute = createRoute(
  publicRoute({
    method: 'post',
    path: '/v1/sessions',
    tags,
    summary: 'Sign in to the web console with an API key',
    description:
      'Answers with an HttpOnly, SameSite=Strict session cookie (Secure over https). The key is checked like a Bearer key; ' +
      'device keys cannot sign in. Revoking the key ends its sessions at once.',
    request: { body: { required: true, content: { 'application/json': { schema: SignInSchema } } } },
    responses: {
      201: { description: 'Signed in; the cookie is set', content: { 'application/json': { schema: SessionSchema } } },
      ...problemResponses(400, 401, 403),
    },
  }),
);

const currentRoute = createRoute(
  secured({
    method: 'get',
    path: '/v1/sessions/current',
    tags,
    summary: 'Who is signed in',
    responses: {
      200: { description: 'The caller', content: { 'application/json': { schema: SessionSchema } } },
      ...problemResponses(401, 403),
    },
  }),
);

const signOutRoute = createRoute(
  secured({
    method: 'delete',
    path: '/v1/sessions/current',
    tags,
    summary: 'Sign out of the web console',
    description: 'Ends the session of the cookie and clears it; with a Bearer key there is no session and nothing changes.',
    responses: { 204: { description: 'Signed out' }, ...problemResponses(401, 403) },
  }),
);

function cookieOptions(c: Context) {
  return { httpOnly: true, sameSite: 'Strict' as const, secure: isHttps(c), path: '/' };
}

export function sessionRoutes({ keys }: RouteDeps, sessions: ConsoleSessions) {
  const router = createRouter();

  router.openapi(signInRoute, async (c) => {
    // A page on another site must not sign a browser in with a key of its choosing.
    assertSameOrigin(c, false);
    const auth = await keys.verify(c.req.valid('json').apiKey);
    if (!auth) throw new ProblemError('unauthorized', 401, 'The API key is unknown, malformed or revoked.');
    if (auth.role === 'device') throw new ProblemError('forbidden', 403, 'Device keys cannot sign in to the console; use an admin, dispatcher or viewer key.');
    const { sessionId, expiresAt } = await sessions.signIn(auth);
    setCookie(c, SESSION_COOKIE, sessionId, { ...cookieOptions(c), expires: expiresAt });
    c.set('logFields', { ...c.get('logFields'), tenantId: auth.tenantId, keyId: auth.keyId });
    c.get('logger').info({ tenantId: auth.tenantId, keyId: auth.keyId, role: auth.role }, 'console sign-in');
    return c.json({ tenantId: auth.tenantId, keyId: auth.keyId, role: auth.role, expiresAt: expiresAt.toISOString() }, 201);
  });

  router.openapi(currentRoute, async (c) => {
    const { tenantId, keyId, role } = c.get('auth');
    return c.json({ tenantId, keyId, role }, 200);
  });

  router.openapi(signOutRoute, async (c: Context<AppEnv>) => {
    const sessionId = sessionIdOf(c);
    if (sessionId && !c.req.header('authorization')) await sessions.signOut(sessionId);
    deleteCookie(c, SESSION_COOKIE, cookieOptions(c));
    return c.body(null, 204);
  });

  return router;
}
