import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { PUBLIC_EXTENSION } from '../common/auth/public.decorator';
import { ErrorResponseDto } from '../common/errors/error-response.dto';
import { version } from '../../package.json';

const DESCRIPTION = `Vega puts one secure, observable HTTP API in front of a local model server (Ollama).

Every route except the health, metrics, UI and docs routes needs an API key, sent as \`X-API-Key: <key>\` or \`Authorization: Bearer <key>\`.
Errors are JSON \`{ statusCode, error, message }\`; 429 and 503 carry \`Retry-After\`.`;

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Vega')
    .setDescription(DESCRIPTION)
    .setVersion(version)
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The API key' }, 'api-key')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'The API key as a bearer token' }, 'bearer')
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
  return document;
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
