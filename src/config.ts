import path from 'node:path';
import { z } from 'zod';

const isoSeconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** Every environment variable Custos reads. `.env.example` documents each one. */
export const environmentSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    HOST: z.string().min(1).default('0.0.0.0'),
    CUSTOS_PUBLIC_URL: z.url().optional(),
    CUSTOS_DATA_DIR: z.string().min(1).default('./data'),
    POLICY_DIR: z.string().min(1).default('./policies'),
    DATABASE_URL: z
      .string()
      .optional()
      .refine((v) => v === undefined || v === '' || /^postgres(ql)?:\/\//.test(v), 'must be a postgresql:// URL (leave unset for the embedded database)'),
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(500).default(10),
    DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).default(3000),
    DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
    DATABASE_ANSWER_TIMEOUT_MS: z.coerce.number().int().min(100).default(2000),
    CUSTOS_MASTER_KEY: optionalText.refine((v) => v === undefined || Buffer.from(v, 'base64').length === 32, 'must be 32 random bytes, base64-encoded (openssl rand -base64 32)'),
    ACCESS_TOKEN_TTL_SECONDS: isoSeconds(600),
    OFFICER_SESSION_TTL_SECONDS: isoSeconds(8 * 3600),
    TOKEN_RATE_LIMIT_PER_MINUTE: isoSeconds(30),
    SIGN_IN_RATE_LIMIT_PER_MINUTE: isoSeconds(10),
    BODY_LIMIT: z
      .string()
      .regex(/^\d+(b|kb|mb)$/i, 'must look like 100kb')
      .default('100kb'),
    SHUTDOWN_TIMEOUT_MS: isoSeconds(10_000),
    TRUST_PROXY: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true'),
    OIDC_ISSUER: optionalText.refine((v) => v === undefined || URL.canParse(v), 'must be a URL'),
    OIDC_AUDIENCE: optionalText,
    OIDC_ROLE_CLAIM: z.string().min(1).default('custos_role'),
    OIDC_JWKS_URI: optionalText.refine((v) => v === undefined || URL.canParse(v), 'must be a URL'),
    OIDC_CLIENT_ID: optionalText,
    OIDC_CLIENT_SECRET: optionalText,
    OIDC_SCOPE: z.string().min(1).default('openid profile'),
    OIDC_RESOURCE: optionalText,
    LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
    OTEL_EXPORTER_OTLP_ENDPOINT: optionalText.refine((v) => v === undefined || /^https?:\/\//.test(v), 'must be an http:// or https:// URL (the collector, OTLP over HTTP)'),
    OTEL_SERVICE_NAME: z.string().min(1).default('custos'),
    OTEL_METRIC_EXPORT_INTERVAL: z.coerce.number().int().min(100).default(60_000),
    AUDIT_INTEGRATOR: z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true'),
    AUDIT_TREE_HEAD_INTERVAL_MS: z.coerce.number().int().min(0).default(10_000),
    AUDIT_TREE_HEAD_EVERY_EVENTS: z.coerce.number().int().min(1).default(1000),
    AUDIT_SWEEP_MS: z.coerce.number().int().min(10).default(1000),
    PRIVACY_NOTICE_URL: optionalText.refine((v) => v === undefined || /^https?:\/\//.test(v), 'must be an http:// or https:// URL'),
    NOTIFIER_WEBHOOK_URL: optionalText.refine((v) => v === undefined || /^https?:\/\//.test(v), 'must be an http:// or https:// URL'),
    REQUESTS_RATE_LIMIT_PER_MINUTE: isoSeconds(10),
    REQUESTS_PER_IDENTIFIER_PER_HOUR: isoSeconds(3),
    REQUESTS_PER_IDENTIFIER_CEILING_PER_HOUR: isoSeconds(10),
    RETENTION_SWEEP_MS: z.coerce.number().int().min(0).default(3_600_000),
    IMPORT_MAX_UPLOAD_BYTES: z.coerce
      .number()
      .int()
      .min(1)
      .default(1024 * 1024 * 1024),
    IMPORT_LEASE_MS: z.coerce.number().int().min(100).default(30_000),
    AUDIT_LOG_ORIGIN: optionalText.refine((v) => v === undefined || /^[^\s+]+$/.test(v), 'must be one word with no spaces or +, e.g. custos.example.com/audit'),
  })
  .superRefine((env, ctx) => {
    if ((env.OIDC_ISSUER === undefined) !== (env.OIDC_AUDIENCE === undefined)) {
      ctx.addIssue({ code: 'custom', path: [env.OIDC_ISSUER ? 'OIDC_AUDIENCE' : 'OIDC_ISSUER'], message: 'OIDC_ISSUER and OIDC_AUDIENCE must be set together' });
    }
    if (env.OIDC_CLIENT_ID && !env.OIDC_ISSUER) ctx.addIssue({ code: 'custom', path: ['OIDC_CLIENT_ID'], message: 'needs OIDC_ISSUER and OIDC_AUDIENCE' });
  });

export type Environment = z.infer<typeof environmentSchema>;

export interface DatabaseConfig {
  kind: 'sqlite' | 'postgresql';
  /** File path for SQLite, connection string (without `schema`) for PostgreSQL. */
  url: string;
  /** PostgreSQL schema (from `?schema=` on DATABASE_URL); `public` by default. */
  schema: string;
  poolSize: number;
  /** PostgreSQL: how long to wait for a connection (new or from the pool). */
  connectTimeoutMs: number;
  /** PostgreSQL: the longest one statement may run, enforced by the server (and by the client, a second later). */
  statementTimeoutMs: number;
  /** PostgreSQL: the longest any request waits on a server that has stopped answering (paused, partitioned) before its 503. */
  answerTimeoutMs: number;
}

/** OpenTelemetry export, when OTEL_EXPORTER_OTLP_ENDPOINT is set. */
export interface TelemetryConfig {
  endpoint: string;
  serviceName: string;
  metricIntervalMs: number;
}

export interface Config {
  telemetry?: TelemetryConfig;
  env: Environment['NODE_ENV'];
  port: number;
  host: string;
  publicUrl: string;
  /** The privacy notice consent receipts link to. */
  privacyNoticeUrl: string;
  dataDir: string;
  policyDir: string;
  database: DatabaseConfig;
  masterKey: Buffer | undefined;
  accessTokenTtlSeconds: number;
  officerSessionTtlSeconds: number;
  tokenRateLimitPerMinute: number;
  signInRateLimitPerMinute: number;
  bodyLimit: string;
  shutdownTimeoutMs: number;
  trustProxy: boolean;
  oidc:
    | {
        issuer: string;
        audience: string;
        roleClaim: string;
        jwksUri: string | undefined;
        /** The console's sign-in (authorization code with PKCE); without a client id, officers bring provider tokens to the API only. */
        /** The console's OIDC client; `redirectUri` is the one address codes may be redeemed for (the console at CUSTOS_PUBLIC_URL). */
        console: { clientId: string; clientSecret: string | undefined; scope: string; resource: string | undefined; redirectUri: string } | undefined;
      }
    | undefined;
  logLevel: Environment['LOG_LEVEL'];
  /** `origin` is what this process would name a new log; `originSet` whether AUDIT_LOG_ORIGIN named it (a log keeps the name of its first start). */
  audit: { integrator: boolean; headIntervalMs: number; headEveryEvents: number; sweepMs: number; origin: string; originSet: boolean };
  notifier: { webhookUrl: string | undefined };
  requests: { ratePerMinute: number; perIdentifierPerHour: number; perIdentifierCeilingPerHour: number };
  /** 0: no periodic retention sweep in this process. */
  retentionSweepMs: number;
  /** Uploads to POST /v1/imports, and how long an import's hold on its app lasts unless its batches renew it. */
  imports: { maxUploadBytes: number; leaseMs: number };
}

export class ConfigError extends Error {
  constructor(readonly problems: Array<{ variable: string; message: string }>) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function databaseConfig(url: string | undefined, dataDir: string, limits: Pick<DatabaseConfig, 'poolSize' | 'connectTimeoutMs' | 'statementTimeoutMs' | 'answerTimeoutMs'>): DatabaseConfig {
  if (!url) return { kind: 'sqlite', url: path.join(dataDir, 'custos.db'), schema: 'main', ...limits, poolSize: 1 };
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? 'public';
  if (!/^[a-z_][a-z0-9_]{0,62}$/i.test(schema)) {
    throw new ConfigError([{ variable: 'DATABASE_URL', message: 'schema must be a plain identifier' }]);
  }
  parsed.searchParams.delete('schema');
  return { kind: 'postgresql', url: parsed.toString(), schema, ...limits };
}

/** Parses the environment once at start; nothing else reads process.env. */
export function loadConfig(source: Record<string, string | undefined>): Config {
  const result = environmentSchema.safeParse(source);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => ({ variable: String(i.path[0] ?? '?'), message: i.message })));
  }
  const env = result.data;
  const dataDir = path.resolve(env.CUSTOS_DATA_DIR);
  return {
    telemetry: env.OTEL_EXPORTER_OTLP_ENDPOINT
      ? { endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, ''), serviceName: env.OTEL_SERVICE_NAME, metricIntervalMs: env.OTEL_METRIC_EXPORT_INTERVAL }
      : undefined,
    env: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST,
    publicUrl: (env.CUSTOS_PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, ''),
    privacyNoticeUrl: env.PRIVACY_NOTICE_URL ?? `${(env.CUSTOS_PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, '')}/privacy`,
    dataDir,
    policyDir: path.resolve(env.POLICY_DIR),
    database: databaseConfig(env.DATABASE_URL || undefined, dataDir, {
      poolSize: env.DATABASE_POOL_SIZE,
      connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
      answerTimeoutMs: env.DATABASE_ANSWER_TIMEOUT_MS,
    }),
    masterKey: env.CUSTOS_MASTER_KEY ? Buffer.from(env.CUSTOS_MASTER_KEY, 'base64') : undefined,
    accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
    officerSessionTtlSeconds: env.OFFICER_SESSION_TTL_SECONDS,
    tokenRateLimitPerMinute: env.TOKEN_RATE_LIMIT_PER_MINUTE,
    signInRateLimitPerMinute: env.SIGN_IN_RATE_LIMIT_PER_MINUTE,
    bodyLimit: env.BODY_LIMIT,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    trustProxy: env.TRUST_PROXY,
    oidc:
      env.OIDC_ISSUER && env.OIDC_AUDIENCE
        ? {
            issuer: env.OIDC_ISSUER,
            audience: env.OIDC_AUDIENCE,
            roleClaim: env.OIDC_ROLE_CLAIM,
            jwksUri: env.OIDC_JWKS_URI,
            console: env.OIDC_CLIENT_ID
              ? {
                  clientId: env.OIDC_CLIENT_ID,
                  clientSecret: env.OIDC_CLIENT_SECRET,
                  scope: env.OIDC_SCOPE,
                  resource: env.OIDC_RESOURCE,
                  redirectUri: `${(env.CUSTOS_PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, '')}/console`,
                }
              : undefined,
          }
        : undefined,
    logLevel: env.LOG_LEVEL,
    audit: {
      integrator: env.AUDIT_INTEGRATOR,
      headIntervalMs: env.AUDIT_TREE_HEAD_INTERVAL_MS,
      headEveryEvents: env.AUDIT_TREE_HEAD_EVERY_EVENTS,
      sweepMs: env.AUDIT_SWEEP_MS,
      // A checkpoint's origin names the log; by default the public host, which is unique per deployment.
      origin: env.AUDIT_LOG_ORIGIN ?? `${new URL(env.CUSTOS_PUBLIC_URL ?? `http://localhost:${env.PORT}`).host}/custos-audit`,
      originSet: env.AUDIT_LOG_ORIGIN !== undefined,
    },
    notifier: { webhookUrl: env.NOTIFIER_WEBHOOK_URL },
    requests: {
      ratePerMinute: env.REQUESTS_RATE_LIMIT_PER_MINUTE,
      perIdentifierPerHour: env.REQUESTS_PER_IDENTIFIER_PER_HOUR,
      perIdentifierCeilingPerHour: env.REQUESTS_PER_IDENTIFIER_CEILING_PER_HOUR,
    },
    retentionSweepMs: env.RETENTION_SWEEP_MS,
    imports: { maxUploadBytes: env.IMPORT_MAX_UPLOAD_BYTES, leaseMs: env.IMPORT_LEASE_MS },
  };
}
