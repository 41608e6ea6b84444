import { z } from 'zod';

export const officerRoles = ['auditor', 'privacy-agent', 'admin'] as const;
export const officerRoleSchema = z.enum(officerRoles);
export type OfficerRole = z.infer<typeof officerRoleSchema>;

export const usernameSchema = z
  .string()
  .trim()
  .min(3)
  .max(100)
  .regex(/^[a-zA-Z0-9._@-]+$/, 'may hold letters, digits and . _ @ -');
export const passwordSchema = z.string().min(12, 'must be at least 12 characters').max(1024);

/** RFC 6749 section 4.4.2 access token request (client_secret_post or client_secret_basic). */
export const tokenRequestSchema = z.object({
  grant_type: z.string().optional(),
  client_id: z.string().max(200).optional(),
  client_secret: z.string().max(500).optional(),
  scope: z.string().max(2000).optional(),
});

export const tokenResponseSchema = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
  scope: z.string(),
});

export const oauthErrorSchema = z.object({ error: z.string(), error_description: z.string().optional() });

export const officerSessionRequestSchema = z.strictObject({ username: z.string().min(1).max(200), password: z.string().min(1).max(1024) });
export const officerSessionResponseSchema = tokenResponseSchema.omit({ scope: true }).extend({ role: officerRoleSchema });

export const oidcSignInSchema = z.object({
  issuer: z.string(),
  authorizationEndpoint: z.string(),
  clientId: z.string(),
  scope: z.string(),
  resource: z.string().nullable(),
});
/** What the console needs to send an officer to the provider (nothing secret). */
export type OidcSignIn = z.infer<typeof oidcSignInSchema>;
export const oidcSessionRequestSchema = z.strictObject({
  code: z.string().min(1).max(2048),
  codeVerifier: z.string().regex(/^[A-Za-z0-9._~-]{43,128}$/, 'must be an RFC 7636 code verifier (43 to 128 unreserved characters)'),
  redirectUri: z.url().max(2048),
});

export const officerSelfSchema = z.object({
  id: z.string(),
  username: z.string().nullable(),
  role: officerRoleSchema,
  via: z.enum(['password', 'oidc']),
});

/** Who made an authenticated request, as the auth middleware established it. */
export type Principal =
  { kind: 'app'; clientId: string; name: string; purposes: string[]; reveal: string[] } | { kind: 'officer'; id: string; username: string | null; role: OfficerRole; via: 'password' | 'oidc' };

export const listSchema = z.array(z.string());

/** An app as admins see it: never its secret (only its hash is kept, and not shown). */
export const appViewSchema = z.object({
  clientId: z.string(),
  name: z.string(),
  purposes: z.array(z.string()),
  reveal: z.array(z.string()),
  createdAt: z.iso.datetime(),
  removedAt: z.iso.datetime().nullable(),
});
export const createdAppSchema = appViewSchema.omit({ createdAt: true, removedAt: true }).extend({ clientSecret: z.string().describe('shown only in this answer') });
export const createAppRequestSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  purposes: z.array(z.string().max(100)).min(1).max(50),
  reveal: z.array(z.string().max(100)).max(20).default([]),
});

export const officerViewSchema = z.object({
  id: z.string(),
  username: z.string(),
  role: officerRoleSchema,
  createdAt: z.iso.datetime(),
  removedAt: z.iso.datetime().nullable(),
});
export const createdOfficerSchema = officerViewSchema
  .pick({ id: true, username: true, role: true })
  .extend({ password: z.string().optional().describe('only when Custos generated it; shown only in this answer') });
export type CreatedOfficer = z.infer<typeof createdOfficerSchema>;
export const createOfficerRequestSchema = z.strictObject({
  username: z.string().max(200),
  role: officerRoleSchema,
  password: z.string().max(1024).optional().describe('omit to have one generated and returned once'),
});
