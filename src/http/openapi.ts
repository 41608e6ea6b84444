import { extendZodWithOpenApi, OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

extendZodWithOpenApi(z);

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem', { description: 'RFC 9457 problem details' });

export function createOpenApiRegistry(): OpenAPIRegistry {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'appToken', {
    type: 'oauth2',
    description: 'Apps: OAuth 2.0 client credentials; scopes are purposes.',
    flows: { clientCredentials: { tokenUrl: '/oauth/token', scopes: {} } },
  });
  registry.registerComponent('securitySchemes', 'officerToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'Officers: a session token from POST /v1/officers/session, or a token from the configured OpenID Connect provider.',
  });
  return registry;
}

export function generateOpenApiDocument(registry: OpenAPIRegistry, serverUrl: string, version: string) {
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Custos',
      version,
      description: 'Privacy and consent compliance gateway. Errors are RFC 9457 application/problem+json.',
    },
    servers: [{ url: serverUrl }],
  });
}

/** A problem+json response of a route, for its OpenAPI description. */
export const problemResponse = (description: string) => ({ description, schema: problemSchema, contentType: 'application/problem+json' });
