import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import type { DatabaseConfig } from '../config.ts';

/**
 * Custos applies its own SQL migrations (prisma/migrations/<provider>/NNNN_name.sql)
 * because Prisma's migration engine is a native binary that is downloaded on
 * first use, which offline machines cannot do. Each applied file is recorded
 * with its checksum; an edited, already-applied file stops the run.
 */
const MIGRATIONS_ROOT = path.join(__dirname, '..', '..', 'prisma', 'migrations');
const ADVISORY_LOCK_KEY = 0x637573746f73; // "custos": one migrator at a time across replicas

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationReport {
  applied: string[];
  alreadyApplied: string[];
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export function migrationFiles(kind: DatabaseConfig['kind'], root = MIGRATIONS_ROOT): MigrationFile[] {
  const dir = path.join(root, kind);
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const sql = fs.readFileSync(path.join(dir, file), 'utf8');
      return { name: file.replace(/\.sql$/, ''), sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

function plan(files: MigrationFile[], recorded: Map<string, string>): { pending: MigrationFile[]; alreadyApplied: string[] } {
  for (const [name, checksum] of recorded) {
    const file = files.find((f) => f.name === name);
    if (!file) throw new MigrationError(`migration ${name} is recorded in the database but its file is missing; this build is older than the database`);
    if (file.checksum !== checksum) throw new MigrationError(`migration ${name} was edited after it was applied (checksum differs)`);
  }
  return { pending: files.filter((f) => !recorded.has(f.name)), alreadyApplied: [...recorded.keys()] };
}

function migrateSqlite(config: DatabaseConfig, dryRun: boolean, root?: string): MigrationReport {
  fs.mkdirSync(path.dirname(config.url), { recursive: true });
  const db = new SqliteDatabase(config.url, { timeout: 10_000 });
  try {
    // WAL lets the CLI and the server read while the other writes.
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE IF NOT EXISTS custos_migrations (name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)');
    const files = migrationFiles('sqlite', root);
    const applied: string[] = [];
    const run = db.transaction(() => {
      const rows = db.prepare('SELECT name, checksum FROM custos_migrations').all() as Array<{ name: string; checksum: string }>;
      const { pending, alreadyApplied } = plan(files, new Map(rows.map((r) => [r.name, r.checksum])));
      if (dryRun) return { applied: pending.map((p) => p.name), alreadyApplied };
      for (const file of pending) {
        db.exec(file.sql);
        db.prepare('INSERT INTO custos_migrations (name, checksum, applied_at) VALUES (?, ?, ?)').run(file.name, file.checksum, new Date().toISOString());
        applied.push(file.name);
      }
      return { applied, alreadyApplied };
    });
    return run.immediate();
  } finally {
    db.close();
  }
}

async function migratePostgres(config: DatabaseConfig, dryRun: boolean, root?: string): Promise<MigrationReport> {
  const client = new pg.Client({ connectionString: config.url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${config.schema}"`);
    await client.query(`SET search_path TO "${config.schema}"`);
    await client.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCK_KEY]);
    await client.query('CREATE TABLE IF NOT EXISTS custos_migrations (name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)');
    const { rows } = await client.query<{ name: string; checksum: string }>('SELECT name, checksum FROM custos_migrations');
    const { pending, alreadyApplied } = plan(migrationFiles('postgresql', root), new Map(rows.map((r) => [r.name, r.checksum])));
    if (dryRun) return { applied: pending.map((p) => p.name), alreadyApplied };
    const applied: string[] = [];
    for (const file of pending) {
      await client.query('BEGIN');
      try {
        await client.query(file.sql);
        await client.query('INSERT INTO custos_migrations (name, checksum, applied_at) VALUES ($1, $2, now())', [file.name, file.checksum]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new MigrationError(`migration ${file.name} failed: ${(error as Error).message}`);
      }
      applied.push(file.name);
    }
    return { applied, alreadyApplied };
  } finally {
    await client.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
    await client.end();
  }
}

/**
 * Applies pending migrations. With `dryRun`, `applied` lists what would be
 * applied. `root` holds `<engine>/NNNN_name.sql` (default: this build's own).
 */
export async function migrate(config: DatabaseConfig, options: { dryRun?: boolean; root?: string } = {}): Promise<MigrationReport> {
  const dryRun = options.dryRun ?? false;
  return config.kind === 'sqlite' ? migrateSqlite(config, dryRun, options.root) : migratePostgres(config, dryRun, options.root);
}
