import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SchemaObject, SwaggerModule } from '@nestjs/swagger';
import { PUBLIC_EXTENSION } from '../common/auth/public.decorator';
import { ErrorResponseDto } from '../common/errors/error-response.dto';
import { license, version } from '../../package.json';

const DESCRIPTION = `Vega puts one secure, observable HTTP API in front of a local model server (Ollama).

Every route except the health, metrics, UI and docs routes needs an API key, sent as \`X-API-Key: <key>\` or \`Authorization: Bearer <key>\`.
Errors are JSON \`{ statusCode, error, message }\`; 429 and 503 carry \`Retry-After\`.`;

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Vega')
    .setDescription(DESCRIPTION)
    .setVersion(version)
    .setLicense(license, `https://spdx.org/licenses/${license}.html`)
    // Relative: Swagger UI and generated clients call the host that served the document.
    .addServer('/', 'This Vega server')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The API key' }, 'api-key')
    // addSecurity, not addBearerAuth: that one claims `bearerFormat: JWT`, and the token is the API key.
    .addSecurity('bearer', { type: 'http', scheme: 'bearer', description: 'The API key as a bearer token' })
    .addSecurityRequirements('api-key')
    .addSecurityRequirements('bearer')
    .build();
  const document = SwaggerModule.createDocument(app, config, { extraModels: [ErrorResponseDto] });
  // Public routes need no key: say so per operation instead of inheriting the global requirement.
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item)) {
      if (operation && typeof operation === 'object' && PUBLIC_EXTENSION in operation) {
        delete (operation as Record<string, unknown>)[PUBLIC_EXTENSION];
        (operation as { security?: unknown[] }).security = [];
      }
    }
  }
  statesRequestDefaultsInWords(document);
  refusesScopesInRouteDialect(document);
  return document;
}

/**
 * `@RequireScope()` documents its 403 with Vega's error body, and the filter answers it in the
 * route's dialect (OpenAI's under `/v1`, Ollama's under `/api`, Anthropic's on `/v1/messages`):
 * the 403 takes the body the route documents for its 401, which each dialect's error decorator sets.
 */
function refusesScopesInRouteDialect(document: OpenAPIObject): void {
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item) as Array<{ responses?: Record<string, { description?: string; content?: unknown }> }>) {
      const forbidden = operation?.responses?.['403'];
      const unauthorized = operation?.responses?.['401'];
      if (forbidden && unauthorized?.content) forbidden.content = unauthorized.content;
    }
  }
}

/**
 * openapi-typescript (with its default `defaultNonNullable`) makes every property that has a
 * `default` non-optional, request bodies included, so a generated client would have to send
 * `stream` and `n`. In the schemas a client sends, the default moves into the description, and
 * becomes the example when there is none, so Swagger UI's sample keeps the value.
 */
function statesRequestDefaultsInWords(document: OpenAPIObject): void {
  const schemas = (document.components?.schemas ?? {}) as Record<string, SchemaObject>;
  const bodies = Object.values(document.paths).flatMap((item) =>
    Object.values(item).map((operation) => (operation as { requestBody?: unknown }).requestBody),
  );
  const seen = new Set<string>();
  const queue = schemaRefs(bodies);
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (seen.has(name) || !schemas[name]) continue;
    seen.add(name);
    queue.push(...schemaRefs(schemas[name]));
    for (const property of Object.values(schemas[name].properties ?? {}) as SchemaObject[]) {
      if (property.default === undefined) continue;
      const words = `Default: \`${JSON.stringify(property.default)}\`.`;
      property.description = property.description ? `${property.description} ${words}` : words;
      property.example ??= property.default;
      delete property.default;
    }
  }
}

/** The component schema names referenced anywhere below `node`. */
function schemaRefs(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const child of node) schemaRefs(child, found);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith('#/components/schemas/')) found.push(value.slice('#/components/schemas/'.length));
      else schemaRefs(value, found);
    }
  }
  return found;
}

/** Swagger UI at `/docs`, the OpenAPI JSON at `/docs-json`. */
export function setupSwagger(app: INestApplication): void {
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
    customSiteTitle: 'Vega API',
    swaggerOptions: { persistAuthorization: false },
  });
}
