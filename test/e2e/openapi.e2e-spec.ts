import Ajv from 'ajv';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { license } from '../../package.json';
import { FakeOllama } from '../support/fake-ollama';
import { startTestApp, type TestApp } from '../support/test-app';

// The OpenAPI document as served, and what Swagger UI's "Try it out" sends from it.
type Schema = Record<string, unknown> & {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  enum?: unknown[];
  example?: unknown;
  default?: unknown;
};
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: Schema;
  example?: unknown;
}
interface MediaType {
  schema?: Schema;
  example?: unknown;
  examples?: Record<string, { value: unknown }>;
}
interface Operation {
  operationId?: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, { description?: string }>;
}
interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; license?: { name: string; url?: string } };
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, Record<string, unknown>> };
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
/**
 * Routes whose handler reaches out of the machine (search engines, RDAP, Slack, DNS, TLS), and
 * Ollama's model management (a pull downloads gigabytes, a delete deletes): their examples are
 * checked, not sent.
 */
const OUTBOUND = /^\/(osint|search|research|integrations)\/|^\/api\/(pull|push|create|copy|delete|blobs)\b/;
/** Routes without input, whose answer tells the machine's state (an event loop slowed by this very test reads as down). */
const HEALTH = /^\/(healthz|livez|readyz|metrics)$/;

function operations(document: OpenApiDocument): { path: string; method: string; operation: Operation }[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, operation]) => ({ path, method, operation })),
  );
}

function schemaName(ref: string): string {
  expect(ref).toMatch(/^#\/components\/schemas\/[^/]+$/);
  return ref.slice('#/components/schemas/'.length);
}

/** Every `$ref` below `node`, at any depth. */
function refsIn(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((child) => refsIn(child, found));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') found.push(value);
      else refsIn(value, found);
    }
  }
  return found;
}

/** Component schemas reachable from the paths, following references between schemas. */
function reachable(document: OpenApiDocument, from: unknown): Set<string> {
  const seen = new Set<string>();
  const queue = refsIn(from).map(schemaName);
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    queue.push(...refsIn(document.components.schemas[name]).map(schemaName));
  }
  return seen;
}

/**
 * The body Swagger UI puts in the editor: the media type's example (the first of `examples`), else
 * a sample built from the schema — a property's example, else its default, else its first enum
 * value, else a placeholder ("string", 0, true) that no real request would hold.
 */
function tryItOutBody(document: OpenApiDocument, media: MediaType): { body: unknown; placeholders: string[] } {
  if (media.example !== undefined) return { body: media.example, placeholders: [] };
  const first = Object.values(media.examples ?? {})[0];
  if (first) return { body: first.value, placeholders: [] };
  const placeholders: string[] = [];
  const sample = (schema: Schema, at: string): unknown => {
    if (schema.$ref) return sample(document.components.schemas[schemaName(schema.$ref)], at);
    if (schema.example !== undefined) return schema.example;
    if (schema.default !== undefined) return schema.default;
    if (schema.enum) return schema.enum[0];
    if (schema.allOf) return Object.assign({}, ...schema.allOf.map((part) => sample(part, at)));
    const alternatives = schema.oneOf ?? schema.anyOf;
    if (alternatives) return sample(alternatives[0], at);
    if (schema.properties) {
      return Object.fromEntries(Object.entries(schema.properties).map(([name, property]) => [name, sample(property, `${at}.${name}`)]));
    }
    if (schema.type === 'array') return [sample(schema.items ?? {}, `${at}[]`)];
    placeholders.push(at);
    return schema.type === 'boolean' ? true : schema.type === 'number' || schema.type === 'integer' ? 0 : 'string';
  };
  return { body: sample(media.schema ?? {}, 'body'), placeholders };
}

/** The parameters Swagger UI fills in: those with an example (or default); undefined when a required one has neither. */
function tryItOutParameters(operation: Operation): Map<Parameter, unknown> | undefined {
  const values = new Map<Parameter, unknown>();
  for (const parameter of operation.parameters ?? []) {
    const value = parameter.example ?? parameter.schema.example ?? parameter.schema.default;
    if (value !== undefined) values.set(parameter, value);
    else if (parameter.required) return undefined; // the user has to type a real value first
  }
  return values;
}

describe('GET /docs-json (the OpenAPI document)', () => {
  // MODEL_NAME's default, and the embedding model the /v1/embeddings example names (Ollama's usual one).
  const fake = new FakeOllama({ models: ['mistral', 'nomic-embed-text'] });
  let t: TestApp;
  let document: OpenApiDocument;

  beforeAll(async () => {
    await fake.start();
    t = await startTestApp({ OLLAMA_URL: fake.url });
    document = await (await t.request('/docs-json', { key: null })).json();
  });

  afterAll(async () => {
    await t?.close();
    await fake.stop();
  });

  it('names a server, the license, and a bearer scheme that is the API key, not a JWT', () => {
    expect(document.servers).toEqual([expect.objectContaining({ url: '/' })]);
    expect(document.info.license).toEqual(expect.objectContaining({ name: license }));
    expect(license).toBe('MIT');
    const bearer = document.components.securitySchemes.bearer;
    expect(bearer).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    expect(bearer).not.toHaveProperty('bearerFormat');
  });

  it('holds no component schema that nothing references', () => {
    const used = reachable(document, document.paths);
    const unused = Object.keys(document.components.schemas).filter((name) => !used.has(name));
    expect(unused).toEqual([]);
  });

  it('is structurally sound: references resolve, required names exist, path parameters match, examples fit their schemas', () => {
    const problems: string[] = [];
    for (const ref of refsIn(document)) if (!(schemaName(ref) in document.components.schemas)) problems.push(`${ref} resolves to nothing`);
    expect(document.openapi).toMatch(/^3\.0\.\d+$/);
    expect(document.info).toEqual(expect.objectContaining({ title: expect.any(String), version: expect.any(String) }));

    // OpenAPI's `binary` (a file as the body) is a format JSON Schema does not know: any string.
    const ajv = new Ajv({ strict: false, allErrors: true, formats: { binary: true } });
    const fits = (schema: Schema, value: unknown, what: string) => {
      let validate;
      try {
        validate = ajv.compile({ ...schema, components: document.components });
      } catch (error) {
        problems.push(`${what}: its schema is not valid: ${(error as Error).message}`);
        return;
      }
      if (!validate(value)) problems.push(`${what} ${JSON.stringify(value)} does not fit its schema: ${ajv.errorsText(validate.errors)}`);
    };
    const checkSchema = (schema: Schema, at: string) => {
      for (const name of schema.required ?? []) if (!(name in (schema.properties ?? {}))) problems.push(`${at} requires ${name}, which it does not declare`);
      for (const [name, property] of Object.entries(schema.properties ?? {})) {
        for (const key of ['example', 'default'] as const) if (property[key] !== undefined) fits(property, property[key], `${at}.${name} ${key}`);
      }
    };
    for (const [name, schema] of Object.entries(document.components.schemas)) checkSchema(schema, name);

    const operationIds = new Set<string>();
    for (const { path, method, operation } of operations(document)) {
      const route = `${method.toUpperCase()} ${path}`;
      if (!operation.operationId || operationIds.has(operation.operationId)) problems.push(`${route} has no unique operationId`);
      operationIds.add(operation.operationId ?? '');
      if (Object.keys(operation.responses).length === 0) problems.push(`${route} has no responses`);
      for (const [status, response] of Object.entries(operation.responses)) if (typeof response.description !== 'string') problems.push(`${route} ${status} has no description`);
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]).sort();
      const declared = (operation.parameters ?? []).filter((parameter) => parameter.in === 'path');
      if (JSON.stringify(declared.map((parameter) => parameter.name).sort()) !== JSON.stringify(templated)) problems.push(`${route} declares other path parameters than its template`);
      for (const parameter of declared) if (parameter.required !== true) problems.push(`${route} path parameter ${parameter.name} is not required`);
      for (const parameter of operation.parameters ?? []) checkSchema({ type: 'object', properties: { [parameter.name]: parameter.schema } }, `${route} ${parameter.in}`);
      for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) {
        const { body, placeholders } = tryItOutBody(document, media);
        if (placeholders.length > 0) problems.push(`${route} ${type}: Try it out would send placeholders at ${placeholders.join(', ')}`);
        fits(media.schema ?? {}, body, `${route} ${type} example`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('leaves every field with a server-side default optional, also in clients generated by openapi-typescript', () => {
    for (const [name, schema] of Object.entries(document.components.schemas)) {
      for (const [property, definition] of Object.entries(schema.properties ?? {})) {
        if (definition.default !== undefined) expect({ name, property, required: schema.required?.includes(property) ?? false }).toEqual({ name, property, required: false });
      }
    }
    // openapi-typescript (defaultNonNullable, on by default) makes a property with a `default` non-optional,
    // request bodies included; so a schema a client sends states its defaults in words, not as `default`.
    const bodies = operations(document).map(({ operation }) => operation.requestBody ?? {});
    for (const name of reachable(document, bodies)) {
      for (const [property, definition] of Object.entries(document.components.schemas[name].properties ?? {})) {
        expect({ name, property, default: definition.default }).toEqual({ name, property, default: undefined });
      }
    }
  });

  it('generates a client with openapi-typescript (its defaults) that compiles with requests leaving defaulted fields out', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vega-openapi-'));
    try {
      writeFileSync(join(dir, 'openapi.json'), JSON.stringify(document));
      const generate = spawnSync(process.execPath, [join(__dirname, '../../node_modules/openapi-typescript/bin/cli.js'), 'openapi.json', '-o', 'schema.d.ts'], { cwd: dir, encoding: 'utf8' });
      expect({ status: generate.status, stderr: generate.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
      writeFileSync(
        join(dir, 'client.ts'),
        [
          "import type { paths } from './schema';",
          "type Json<P extends keyof paths, M extends 'post'> = paths[P][M] extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;",
          "export const chat: Json<'/chat', 'post'> = { prompt: 'Explain a circuit breaker.' };",
          "export const completion: Json<'/v1/chat/completions', 'post'> = { model: 'mistral', messages: [{ role: 'user', content: 'Hi' }] };",
          "export const search: Json<'/search/web', 'post'> = { query: 'sqlite wal' };",
          '',
        ].join('\n'),
      );
      const tsc = spawnSync(process.execPath, [join(__dirname, '../../node_modules/typescript/bin/tsc'), '--strict', '--noEmit', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext', 'client.ts'], { cwd: dir, encoding: 'utf8' });
      expect(tsc.stdout + tsc.stderr).toBe('');
      expect(tsc.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('runs every example as Swagger UI sends it on a default install: no made-up model or session', async () => {
    const ran: string[] = [];
    const problems: string[] = [];
    for (const { path, method, operation } of operations(document)) {
      const route = `${method.toUpperCase()} ${path}`;
      const parameters = tryItOutParameters(operation);
      if (!parameters || OUTBOUND.test(path) || HEALTH.test(path)) continue;
      let url = path;
      const query = new URLSearchParams();
      for (const [parameter, value] of parameters) {
        if (parameter.in === 'path') url = url.replace(`{${parameter.name}}`, encodeURIComponent(String(value)));
        else if (parameter.in === 'query') query.set(parameter.name, String(value));
      }
      const media = operation.requestBody?.content['application/json'];
      const body = media ? tryItOutBody(document, media).body : undefined;
      if (query.has('session_id') || (body && typeof body === 'object' && 'session_id' in body)) problems.push(`${route} continues a made-up session`);
      const res = await t.request(`${url}${query.size > 0 ? `?${query}` : ''}`, { method: method.toUpperCase(), body });
      const text = await res.text();
      if (!res.ok) problems.push(`${route} answered ${res.status}: ${text.slice(0, 300)}`);
      else if (res.headers.get('content-type')?.startsWith('text/event-stream') && /^event: error$|"error":/m.test(text)) problems.push(`${route} streamed an error: ${text.slice(0, 300)}`);
      ran.push(route);
    }
    expect(problems).toEqual([]);
    expect(ran).toEqual(expect.arrayContaining(['POST /chat', 'POST /chat/sse', 'GET /chat/sse', 'POST /v1/chat/completions', 'GET /v1/models/{id}', 'GET /history', 'POST /feedback']));
    // The chat examples asked the default model.
    const models = new Set(fake.chatRequests().map((request) => (request.body as { model?: string }).model));
    expect(models).toEqual(new Set(['mistral']));
  });
});
