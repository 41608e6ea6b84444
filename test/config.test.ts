import { ConfigError, loadConfig } from '../src/config.ts';

function problems(env: Record<string, string>) {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration from the environment', () => {
  it('runs on the embedded database with defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 8080, database: { kind: 'sqlite' }, accessTokenTtlSeconds: 600, publicUrl: 'http://localhost:8080' });
    expect(config.database.url).toMatch(/data\/custos\.db$/);
  });

  it('reads PostgreSQL settings, including a schema, from DATABASE_URL', () => {
    const config = loadConfig({ DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/test?schema=custos_eu', DATABASE_POOL_SIZE: '20' });
    expect(config.database).toEqual({
      kind: 'postgresql',
      url: 'postgresql://postgres@127.0.0.1:5432/test',
      schema: 'custos_eu',
      poolSize: 20,
      connectTimeoutMs: 3000,
      statementTimeoutMs: 10_000,
      answerTimeoutMs: 2000,
    });
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://localhost/db' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'postgresql://h/db?schema=bad;drop' }, 'DATABASE_URL'],
    [{ CUSTOS_MASTER_KEY: 'c2hvcnQ=' }, 'CUSTOS_MASTER_KEY'],
    [{ OIDC_ISSUER: 'https://id.example.com' }, 'OIDC_AUDIENCE'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ BODY_LIMIT: 'huge' }, 'BODY_LIMIT'],
    [{ CUSTOS_PUBLIC_URL: 'not a url' }, 'CUSTOS_PUBLIC_URL'],
  ])('names the variable in %j', (env, variable) => {
    expect(problems(env).map((p) => p.variable)).toContain(variable);
  });
});
