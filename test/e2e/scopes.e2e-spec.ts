import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer, Reflector } from '@nestjs/core';
import { SCOPES, type Scope } from '../../src/common/auth/principal';
import { IS_PUBLIC } from '../../src/common/auth/public.decorator';
import { REQUIRED_SCOPES, SCOPE_EXTENSION } from '../../src/common/auth/scopes.decorator';
import { scopedKeys, TestApp, TestResponse, useAppWithFakeOllama } from '../support/test-app';

interface Route {
  method: string;
  /** Nest's template, e.g. `/conversations/:id`. */
  path: string;
  isPublic: boolean;
  scopes: readonly Scope[] | undefined;
}

/** Every route Nest serves, read from the controllers themselves: a route left out of the docs is walked too. */
function nestRoutes(t: TestApp): Route[] {
  const reflector = new Reflector();
  const routes: Route[] = [];
  for (const module of t.app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new (...args: never[]) => object) | null;
      if (!controller) continue;
      const bases = [reflector.get<string | string[]>(PATH_METADATA, controller) ?? ''].flat();
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        const handler = (controller.prototype as Record<string, unknown>)[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const method = reflector.get<RequestMethod | undefined>(METHOD_METADATA, handler);
        if (method === undefined) continue;
        const targets = [handler, controller];
        for (const base of bases) {
          for (const sub of [reflector.get<string | string[]>(PATH_METADATA, handler) ?? ''].flat()) {
            routes.push({
              method: RequestMethod[method],
              path: `/${[base, sub].map((part) => part.replace(/^\/+|\/+$/g, '')).filter(Boolean).join('/')}`,
              isPublic: reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) === true,
              scopes: reflector.getAllAndOverride<readonly Scope[] | undefined>(REQUIRED_SCOPES, targets),
            });
          }
        }
      }
    }
  }
  return routes;
}

/** Routes any accepted key may call, whatever its scopes: who am I (`GET /me`, the key-management package's). */
const ANY_KEY = new Set(['GET /me']);
const nameOf = (route: Route) => `${route.method} ${route.path}`;

const secretFor = (name: string) => `${name}-key-0123456789abcdef`;
/** A key holding every scope but the ones named. */
const allBut = (missing: readonly Scope[]) => SCOPES.filter((scope) => !missing.includes(scope));
const LACKING: Record<string, readonly Scope[]> = {
  chat: ['chat'],
  research: ['research'],
  history: ['history:own', 'history:all'],
  admin: ['admin'],
};
const keyStore = () =>
  scopedKeys({
    [secretFor('none')]: [],
    ...Object.fromEntries(Object.entries(LACKING).map(([name, missing]) => [secretFor(`no-${name}`), allBut(missing)])),
    ...Object.fromEntries(SCOPES.map((scope) => [secretFor(`only-${scope.replace(':', '-')}`), [scope]])),
  });

/** The refusal's message, read from the route's own dialect. */
async function refusalMessage(method: string, path: string, res: TestResponse): Promise<unknown> {
  const text = await res.text();
  if (method === 'HEAD') return text === '' ? 'a HEAD answer has no body' : text;
  const body = JSON.parse(text);
  if (path.startsWith('/v1/')) return body.error?.message;
  if (path.startsWith('/api/')) return body.error;
  expect(body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
  return body.message;
}

/** Scopes on every route: each guarded route says which scope it needs, and a key without it is refused with 403. */
describe('the scopes of every route (e2e)', () => {
  const harness = useAppWithFakeOllama();
  let t: TestApp;

  beforeEach(async () => {
    t = await harness.start({ RATE_LIMIT_PER_MINUTE: '0' }, { keyStores: [keyStore()] });
  });

  it('declares scopes on every route but the public probes and metrics, in the code and in the OpenAPI document', async () => {
    const routes = nestRoutes(t);
    expect(routes.length).toBeGreaterThan(50);
    const unscoped = routes.filter((route) => !route.isPublic && !ANY_KEY.has(nameOf(route)) && (route.scopes === undefined || route.scopes.length === 0));
    expect(unscoped.map(nameOf)).toEqual([]);
    expect(routes.filter((route) => route.isPublic).map((route) => `${route.method} ${route.path}`).sort()).toEqual(
      ['GET /healthz', 'GET /livez', 'GET /metrics', 'GET /readyz'],
    );

    const document = await (await t.request('/docs-json', { key: null })).json();
    for (const [path, item] of Object.entries<Record<string, Record<string, unknown>>>(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const route = routes.find((candidate) => candidate.method === method.toUpperCase() && candidate.path === path.replace(/\{([^}]+)\}/g, ':$1'));
        expect({ route: `${method} ${path}`, found: route !== undefined }).toEqual({ route: `${method} ${path}`, found: true });
        // A route for any key says so with an empty list.
        const declared = ANY_KEY.has(nameOf(route!)) ? [] : route!.scopes;
        expect({ route: `${method} ${path}`, scopes: operation[SCOPE_EXTENSION] }).toEqual({ route: `${method} ${path}`, scopes: declared });
      }
    }
  });

  it('gives the scope each kind of route needs', async () => {
    const scopesOf = (method: string, path: string) => nestRoutes(t).find((route) => route.method === method && route.path === path)?.scopes;
    for (const path of ['/chat', '/chat/sse', '/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/messages', '/v1/responses', '/api/chat', '/api/generate', '/api/embed', '/api/show']) {
      expect({ path, scopes: scopesOf('POST', path) }).toEqual({ path, scopes: ['chat'] });
    }
    for (const path of ['/models', '/v1/models', '/api/tags', '/api/ps', '/api/version']) expect({ path, scopes: scopesOf('GET', path) }).toEqual({ path, scopes: ['chat'] });
    for (const path of ['/research/summarize', '/research/rag', '/search/web', '/search/images', '/osint/whois', '/osint/dns', '/net/scan']) {
      expect({ path, scopes: scopesOf('POST', path) }).toEqual({ path, scopes: ['research'] });
    }
    const history = ['history:own', 'history:all'];
    for (const [method, path] of [['GET', '/history'], ['GET', '/session/:session_id'], ['GET', '/conversations/:id'], ['DELETE', '/conversations/:id'], ['POST', '/feedback']]) {
      expect({ path, scopes: scopesOf(method, path) }).toEqual({ path, scopes: history });
    }
    for (const [method, path] of [['GET', '/admin/keys'], ['POST', '/admin/keys'], ['POST', '/admin/keys/:id/revoke'], ['GET', '/admin/status'], ['GET', '/admin/export'], ['GET', '/admin/audit'], ['POST', '/admin/system-prompt/reload'], ['POST', '/integrations/test'], ['POST', '/api/pull'], ['DELETE', '/api/delete']]) {
      expect({ path, scopes: scopesOf(method, path) }).toEqual({ path, scopes: ['admin'] });
    }
  });

  it('refuses a key without the scope on every route with 403 naming it, in the route\'s dialect, and admits a key with only that scope', async () => {
    const routes = nestRoutes(t);
    for (const route of routes.filter((candidate) => ANY_KEY.has(nameOf(candidate)))) {
      expect({ route: nameOf(route), status: (await t.request(route.path, { method: route.method, key: secretFor('none') })).status }).toEqual({ route: nameOf(route), status: 200 });
    }
    const guarded = routes.filter((route) => !route.isPublic && !ANY_KEY.has(nameOf(route)));
    const walked: string[] = [];
    for (const route of guarded) {
      const scopes = route.scopes!;
      const path = route.path.replace(/:[^/]+/g, '1');
      const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method) ? {} : undefined;
      const lacking = Object.entries(LACKING).find(([, missing]) => missing.length === scopes.length && missing.every((scope) => scopes.includes(scope)));
      expect({ route: `${route.method} ${route.path}`, scopes, testable: lacking !== undefined }).toMatchObject({ testable: true });
      for (const key of [secretFor('none'), secretFor(`no-${lacking![0]}`)]) {
        const res = await t.request(path, { method: route.method, key, body });
        expect({ route: `${route.method} ${route.path}`, status: res.status }).toEqual({ route: `${route.method} ${route.path}`, status: 403 });
        const expected = route.method === 'HEAD' ? 'a HEAD answer has no body' : `This route needs a key with the ${scopes.join(' or ')} scope`;
        expect({ route: `${route.method} ${route.path}`, message: await refusalMessage(route.method, path, res) }).toEqual({ route: `${route.method} ${route.path}`, message: expected });
      }
      const allowed = await t.request(path, { method: route.method, key: secretFor(`only-${scopes[0].replace(':', '-')}`), body });
      const refusal = allowed.status === 403 ? JSON.stringify(await allowed.json()) : '';
      expect({ route: `${route.method} ${route.path}`, refusedForScope: refusal.includes('This route needs') }).toEqual({
        route: `${route.method} ${route.path}`,
        refusedForScope: false,
      });
      await allowed.body?.cancel();
      walked.push(`${route.method} ${route.path}`);
    }
    expect(walked).toEqual(expect.arrayContaining(['POST /chat', 'GET /history', 'POST /v1/chat/completions', 'POST /api/chat', 'POST /net/scan', 'GET /admin/status']));
  });
});
