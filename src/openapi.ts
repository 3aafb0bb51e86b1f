import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';

/** The OpenAPI 3 document of every route, as served at /api/openapi.json. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Boards API')
    .setDescription(
      'Multi-tenant API for AI content boards. Every error has the body {error, detail, status, request_id}; ' +
        'every response carries X-Request-Id. Objects of another organization answer exactly like missing ones.',
    )
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .addServer('/')
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (controllerKey, methodKey) =>
      `${controllerKey.replace(/Controller$/, '')}_${methodKey}`,
  });
  return finishDocument(document);
}

const OPERATION_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'] as const;

/**
 * Two things the decorators cannot say per route: public operations (no bearer token) have an
 * explicit empty `security`, and every `*_id` path parameter is a UUID (the server answers 400
 * to anything else).
 */
function finishDocument(document: OpenAPIObject): OpenAPIObject {
  for (const item of Object.values(document.paths)) {
    for (const method of OPERATION_METHODS) {
      const operation = item[method];
      if (!operation) continue;
      operation.security ??= [];
      for (const parameter of operation.parameters ?? []) {
        if ('in' in parameter && parameter.in === 'path' && parameter.name.endsWith('_id')) {
          parameter.schema = { type: 'string', format: 'uuid' };
        }
      }
    }
  }
  return document;
}

/** Serves the document at /api/openapi.json and the interactive docs at /api/docs. */
export function mountOpenApi(app: INestApplication): OpenAPIObject {
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('api/docs', app, document, {
    jsonDocumentUrl: 'api/openapi.json',
    useGlobalPrefix: false,
  });
  return document;
}
