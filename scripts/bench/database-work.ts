import pg from 'pg';

/**
 * What PostgreSQL did per request during a measured run, from
 * pg_stat_statements (when the database has it):
 * statements (each a round trip, background work such as the audit
 * integrator included) and the server's execution time. Reset before each
 * measured run, read after it.
 */
export interface DatabaseWork {
  statementsPerRequest: number;
  serverMsPerRequest: number;
}

export interface DatabaseWorkProbe {
  reset(): Promise<void>;
  per(requests: number): Promise<DatabaseWork>;
  close(): Promise<void>;
}

export async function openDatabaseWork(url: string): Promise<DatabaseWorkProbe | undefined> {
  const client = new pg.Client({ connectionString: url.replace(/[?&]schema=[^&]*/, '') });
  await client.connect();
  try {
    // Only where an operator installed it (CREATE EXTENSION pg_stat_statements, with the library preloaded); the bench changes no server setup.
    await client.query('SELECT pg_stat_statements_reset()');
  } catch {
    await client.end();
    return undefined;
  }
  return {
    reset: async () => void (await client.query('SELECT pg_stat_statements_reset()')),
    async per(requests) {
      const { rows } = await client.query<{ calls: string; ms: number }>(
        `SELECT COALESCE(SUM(calls), 0) AS calls, COALESCE(SUM(total_exec_time), 0) AS ms FROM pg_stat_statements
          WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat_statements%'`,
      );
      return { statementsPerRequest: Number(rows[0]!.calls) / Math.max(1, requests), serverMsPerRequest: rows[0]!.ms / Math.max(1, requests) };
    },
    close: () => client.end(),
  };
}
