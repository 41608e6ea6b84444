import type { Database } from './database.ts';

/**
 * Values one module reads inside another module's statement, saving a round
 * trip without either reaching into the other's tables: the owner of the
 * value supplies its SQL (over its own tables) and its decoding; the owner of
 * the statement places it and hands back what came out.
 */

/**
 * A value another module reads in the same statement as a row of yours,
 * saving it a round trip: a scalar subquery over one of your row's columns
 * (`select` gets that column's SQL name), its values, and how to decode what
 * it returns. Its SQL is the other module's, over its own tables.
 */
export interface ColumnAlongside<T> {
  select(key: string): string;
  params: unknown[];
  decode(raw: unknown): T;
}

/** A value of another module read in the same statement as yours, with no key: a scalar subquery, its values, how to decode it. */
export interface ScalarAlongside<T> {
  sql: string;
  params: unknown[];
  decode(raw: unknown): T;
}

/** The column read on its own, for a key already known (one statement). */
export async function readColumnAlone<T>(db: Database, column: ColumnAlongside<T>, key: string): Promise<T> {
  const [row] = await db.readRaw<{ value: unknown }>(`WITH k (key) AS (SELECT ?) SELECT ${column.select('k.key')} AS "value" FROM k`, [key, ...column.params]);
  return column.decode(row?.value ?? null);
}

/** Columns placed in one statement, any of them absent (nothing to read). */
export type AlongsideColumns = ReadonlyArray<ColumnAlongside<unknown> | undefined>;

/** What each of those columns read; undefined for an absent one. */
export type ReadAlongside<A extends AlongsideColumns> = { -readonly [K in keyof A]: ReadOf<A[K]> };
type ReadOf<C> = C extends ColumnAlongside<infer T> ? T : undefined;

/**
 * For the owner of a statement: the select-list entries of these columns over
 * one of its row's columns (`key`), each as `, (…) AS "alongside<i>"`, their
 * values in text order, and how to decode them from the row that came back.
 */
export function placeAlongside<A extends AlongsideColumns>(columns: A, key: string): { select: string; params: unknown[]; decode(row: Record<string, unknown> | undefined): ReadAlongside<A> } {
  return {
    select: columns.map((c, i) => (c ? `, ${c.select(key)} AS "alongside${i}"` : '')).join(''),
    params: columns.flatMap((c) => c?.params ?? []),
    decode: (row) => columns.map((c, i) => c?.decode(row?.[`alongside${i}`] ?? null)) as ReadAlongside<A>,
  };
}
