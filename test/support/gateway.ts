import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Express } from 'express';
import pg from 'pg';
import request from 'supertest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { createRuntime, type Runtime } from '../../src/runtime.ts';
import { migrate } from '../../src/storage/migrate.ts';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const EXAMPLE_POLICY_DIR = path.join(REPO_ROOT, 'policies');

/** CI runs the whole suite twice: on the embedded database, then with DATABASE_URL set to PostgreSQL. */
export const postgresUrl = process.env.DATABASE_URL || undefined;
export const databaseKind = postgresUrl ? 'postgresql' : 'sqlite';

export interface TestGateway {
  runtime: Runtime;
  app: Express;
  env: Record<string, string>;
  /** Every log line the gateway wrote, as written. */
  logs: string[];
  close(): Promise<void>;
}

/** A fresh PostgreSQL schema per gateway, so test files never see each other's rows. */
export function freshDatabaseUrl(): string | undefined {
  if (!postgresUrl) return undefined;
  const url = new URL(postgresUrl);
  url.searchParams.set('schema', `t_${randomBytes(6).toString('hex')}`);
  return url.toString();
}

export async function dropSchema(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const schema = url.searchParams.get('schema');
  url.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** The environment of an isolated gateway: its own data dir, master key and database. */
export function testEnvironment(overrides: Record<string, string> = {}): Record<string, string> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-test-'));
  const databaseUrl = freshDatabaseUrl();
  return {
    NODE_ENV: 'test',
    CUSTOS_DATA_DIR: dataDir,
    POLICY_DIR: EXAMPLE_POLICY_DIR,
    CUSTOS_MASTER_KEY: randomBytes(32).toString('base64'),
    CUSTOS_PUBLIC_URL: 'http://custos.test',
    LOG_LEVEL: 'debug',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...overrides,
  };
}

export async function cleanUpEnvironment(env: Record<string, string>): Promise<void> {
  if (env.DATABASE_URL) await dropSchema(env.DATABASE_URL);
  fs.rmSync(env.CUSTOS_DATA_DIR!, { recursive: true, force: true });
}

export async function startTestGateway(overrides: Record<string, string> = {}): Promise<TestGateway> {
  const env = testEnvironment(overrides);
  const config = loadConfig(env);
  if (config.database.kind === 'postgresql') await migrate(config.database);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  const runtime = await createRuntime(config, createLogger(config.logLevel, sink));
  const app = createApp(runtime);
  return {
    runtime,
    app,
    env,
    logs,
    async close() {
      await runtime.close();
      await cleanUpEnvironment(env);
    },
  };
}

export const systemContext = (gateway: TestGateway) => ({
  actor: { type: 'system' as const, id: 'test' },
  requestId: `test-${randomBytes(4).toString('hex')}`,
  policyVersion: gateway.runtime.loaded.version,
});

export interface AppCredentials {
  clientId: string;
  clientSecret: string;
}

export async function createTestApp(gateway: TestGateway, purposes: string[] = ['marketing', 'support'], reveal: string[] = []): Promise<AppCredentials> {
  const app = await gateway.runtime.auth.createApp(systemContext(gateway), { name: 'Test app', purposes, reveal });
  return { clientId: app.clientId, clientSecret: app.clientSecret };
}

export async function appToken(gateway: TestGateway, credentials: AppCredentials, scope?: string): Promise<string> {
  const response = await request(gateway.app)
    .post('/oauth/token')
    .type('form')
    .send({ grant_type: 'client_credentials', client_id: credentials.clientId, client_secret: credentials.clientSecret, ...(scope ? { scope } : {}) });
  if (response.status !== 200) throw new Error(`token request failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.access_token as string;
}

export async function createTestOfficer(gateway: TestGateway, role: 'auditor' | 'privacy-agent' | 'admin', username = `officer-${randomBytes(3).toString('hex')}`) {
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const officer = await gateway.runtime.auth.createOfficer(systemContext(gateway), { username, role, password });
  return { ...officer, password };
}

export async function officerToken(gateway: TestGateway, username: string, password: string): Promise<string> {
  const response = await request(gateway.app).post('/v1/officers/session').send({ username, password });
  if (response.status !== 200) throw new Error(`sign-in failed: ${response.status}`);
  return response.body.access_token as string;
}

export async function auditEvents(gateway: TestGateway, action?: string) {
  const { listAuditEvents } = await import('../../src/modules/audit/service.ts');
  return listAuditEvents(gateway.runtime.db, action ? { action } : {}, 10_000);
}

/** Places every committed event in the log, then verifies the whole log as `custos audit verify` does. */
export async function verifyLog(gateway: TestGateway, options: Parameters<typeof import('../../src/modules/audit/verify.ts').verifyAuditLog>[2] = {}) {
  const { verifyAuditLog } = await import('../../src/modules/audit/verify.ts');
  await gateway.runtime.auditIntegrator.flush();
  return verifyAuditLog(gateway.runtime.db, { keys: [gateway.runtime.signingKey.publicJwk] }, options);
}
