import type { Database, DbClient, Tx } from '../../storage/database.ts';
import { recordedOnce } from '../../storage/recorded-once.ts';
import type { ScalarAlongside } from '../../storage/alongside.ts';
import { nullableInteger, type SqlInteger } from '../../storage/sql-values.ts';
import { requireThat } from '../../storage/engine.ts';
import { query, type SqlStatement } from '../../storage/raw-sql.ts';
import { unitStateKey } from '../../storage/unit-of-work.ts';

/**
 * The current key version as a value of another module's statement: a lookup
 * by identifier pseudonyms checks, in its own snapshot, that no rotation added
 * a version it made no digest for.
 */
export const currentKeyVersionAlongside: ScalarAlongside<number> = {
  sql: '(SELECT MAX(version) FROM key_version)',
  params: [],
  decode: (raw) => nullableInteger(raw as SqlInteger | null) ?? 1,
};

/** A guard (Database.writeAlone with guards): no key version newer than `version` exists, so digests made up to it cover every version. */
export function noKeyVersionAfter(version: number): SqlStatement {
  return requireThat(`COALESCE(${currentKeyVersionAlongside.sql}, 1) <= ?`, [version], 'a key version newer than the lookup knew');
}

/** The same, on the hot read path (one plain query, no transaction). */
export async function readCurrentKeyVersion(db: Database): Promise<number> {
  const [row] = await db.readRaw<{ version: SqlInteger | null }>('SELECT MAX(version) AS "version" FROM key_version');
  return nullableInteger(row?.version) ?? 1;
}

/**
 * The current key version as a transaction sees it: read once per unit of
 * work (every write asks, several a transaction in a batch); on PostgreSQL
 * writers hold the identifier index against a rotation meanwhile, and SQLite
 * has one writer, so it cannot change under the transaction but by its own
 * addKeyVersion.
 */
const CURRENT_VERSION = unitStateKey('current key version', (): { version?: number } => ({}));

export async function currentKeyVersion(db: DbClient | Tx): Promise<number> {
  if ((db as Partial<Tx>).unit !== undefined) {
    const tx = db as Tx;
    const known = tx.unit.state(CURRENT_VERSION);
    if (known.version === undefined) {
      const [row] = await query<{ version: SqlInteger | null }>(tx, 'SELECT MAX(version) AS "version" FROM key_version');
      known.version = nullableInteger(row?.version ?? null) ?? 1;
    }
    return known.version;
  }
  const row = await db.keyVersion.findFirst({ orderBy: { version: 'desc' } });
  return row?.version ?? 1;
}

export async function addKeyVersion(tx: Tx, version: number, at: Date): Promise<void> {
  await tx.keyVersion.create({ data: { version, createdAt: at } });
  const known = tx.unit.state(CURRENT_VERSION);
  if (known.version !== undefined && version > known.version) known.version = version;
}

/**
 * The fingerprint recorded for this database; the first start records its own
 * (a plain read on every later start; of racing first starts, one wins).
 */
export async function recordedKeyFingerprint(db: Database, fingerprint: string, at: Date): Promise<string> {
  return recordedOnce(db, 'master_key_check', 'fingerprint', fingerprint, at);
}
