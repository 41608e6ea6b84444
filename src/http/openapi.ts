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
  registry.registerComponent('securitySchemes', 'statusToken', {
    type: 'http',
    scheme: 'bearer',
    description: "A privacy request's status token, handed to the person when they submit it (POST /v1/privacy-requests).",
  });
  return registry;
}

/** The policy's terms a request or an answer may name, documented as enums of the policy loaded. */
export type PolicyTerm = 'purpose' | 'channel' | 'topic' | 'recipient';
const TERM = 'x-custos-policy-term';

/**
 * A string that names one of the policy's terms: validated by the policy
 * (an unknown purpose is a 422 with its reason, not a 400), and documented
 * with the values of the policy the gateway runs (see generateOpenApiDocument).
 */
export const policyTerm = <S extends z.ZodString>(term: PolicyTerm, schema: S) => schema.openapi({ [TERM]: term });

/** Fills in the enum of every schema marked with policyTerm, in place. */
function withPolicyTerms(node: unknown, terms: Record<PolicyTerm, readonly string[]>): void {
  if (Array.isArray(node)) return node.forEach((item) => withPolicyTerms(item, terms));
  if (typeof node !== 'object' || node === null) return;
  const record = node as Record<string, unknown>;
  const term = record[TERM] as PolicyTerm | undefined;
  if (term && terms[term].length > 0) record.enum = [...terms[term]];
  for (const value of Object.values(record)) withPolicyTerms(value, terms);
}

export function generateOpenApiDocument(registry: OpenAPIRegistry, serverUrl: string, version: string, terms: Record<PolicyTerm, readonly string[]>) {
  const document = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Custos',
      version,
      description: 'Privacy and consent compliance gateway. Errors are RFC 9457 application/problem+json.',
      license: { name: 'UNLICENSED' },
    },
    servers: [{ url: serverUrl }],
  });
  withPolicyTerms(document, terms);
  return document;
}

/** A problem+json response of a route, for its OpenAPI description. */
export const problemResponse = (description: string) => ({ description, schema: problemSchema, contentType: 'application/problem+json' });
