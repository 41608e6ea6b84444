import type { EngineAdapter } from './engine.ts';
import type { NativeStatements, SqlStatement } from './raw-sql.ts';

/**
 * What one write transaction gathers, handed explicitly to everything that
 * writes in it (as `tx.unit`): the engine and connection its statements run
 * on, the writes to make as its last step (the audit events, a group's
 * reservations, the consent ledger's entries and kept states, each as one
 * multi-row INSERT; on PostgreSQL all of them as one statement), the work
 * for after it commits (waking the integrator, the notifier), and each
 * module's own state for the transaction (what the ledger moved on, the
 * slots a group reserved). A module keeps its per-transaction state here,
 * under a key of its own, never in a module-level map: when the transaction
 * ends, the unit and everything on it go with it.
 */
export interface UnitOfWork {
  /** What differs between the engines (SQL dialect, locks): stores ask it, never which engine runs. */
  readonly adapter: EngineAdapter;
  /** The Database that opened the transaction (for work that must stay with it: waking its integrator). */
  readonly database: object;
  /** Statements on the connection that holds the transaction, when the driver shows it (else Prisma's raw path). */
  readonly native?: NativeStatements;
  /** Writes to make as the unit's last step, built then from what the unit gathered. */
  lastly(writes: () => SqlStatement[]): void;
  /** Work for once the unit has committed (never if it rolls back). */
  afterCommit(hook: () => void): void;
  /** A module's state for this unit, made by the key's `create` on first use. */
  state<S>(key: UnitStateKey<S>): S;
}

/** A module's own slot on a unit of work: a name for diagnostics and how to start it. */
export interface UnitStateKey<S> {
  readonly name: string;
  create(unit: UnitOfWork): S;
}

export function unitStateKey<S>(name: string, create: (unit: UnitOfWork) => S): UnitStateKey<S> {
  return { name, create };
}

/** The unit a Database opens for one transaction, with what only the Database runs: its last writes and its after-commit work. */
export function openUnitOfWork(adapter: EngineAdapter, database: object, native?: NativeStatements) {
  const last: Array<() => SqlStatement[]> = [];
  const after: Array<() => void> = [];
  const states = new Map<UnitStateKey<unknown>, unknown>();
  const unit: UnitOfWork = {
    adapter,
    database,
    native,
    lastly: (writes) => void last.push(writes),
    afterCommit: (hook) => void after.push(hook),
    state<S>(key: UnitStateKey<S>): S {
      if (!states.has(key)) states.set(key, key.create(unit));
      return states.get(key) as S;
    },
  };
  return {
    unit,
    /** The last writes, in the order they were asked for, as the engine sends them. */
    lastWrites: (): SqlStatement[] => adapter.lastWrites(last.flatMap((writes) => writes())),
    /** A hook's failure cannot undo the commit, so it is not the caller's: hooks only wake work that also runs on a timer. */
    committed(): void {
      for (const hook of after) {
        try {
          hook();
        } catch {
          // see above
        }
      }
    },
  };
}
