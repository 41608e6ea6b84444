/**
 * Tells a PostgreSQL server that stopped answering (paused, a network
 * partition, a frozen host) from one that is merely slow, and stops every
 * wait on the first within a bound.
 *
 * A timeout per statement cannot do this: a healthy audit search or a large
 * scrub may run for seconds, while a paused server never answers at all. So
 * every wait on the server (a statement, a connection from the pool) is
 * registered here; when one has lasted `stallMs`, a probe (`SELECT 1` on a
 * connection of its own, bounded by its own timeout) asks the server whether
 * it still answers. If it does, the waits are only slow and go on. If it does
 * not, the server is stuck: every wait is abandoned at once (its connection is
 * closed, so the server rolls back whatever it held when it wakes), and until
 * a probe succeeds again new statements are refused before they are sent.
 *
 * A wait that began when the server stopped is abandoned within
 * stallMs + one check interval + the probe's timeout.
 */
export interface WatchdogOptions {
  /** How long a wait may last before the server is probed. */
  stallMs: number;
  /** Milliseconds on the clock `now` reads; injected by tests. */
  now?: () => number;
}

interface Wait {
  readonly since: number;
  readonly abandon: () => void;
}

export class DatabaseWatchdog {
  readonly #waits = new Set<Wait>();
  readonly #probe: () => Promise<void>;
  readonly #stallMs: number;
  readonly #now: () => number;
  #stuck = false;
  #probing: Promise<void> | undefined;
  #lastProbeAt = -Infinity;
  /** Probes judged so far, by verdict (for the metrics). */
  readonly verdicts = { answering: 0, stuck: 0 };

  /** `probe` resolves when the server answers and rejects (within its own timeout) when it does not. */
  constructor(probe: () => Promise<void>, options: WatchdogOptions) {
    this.#probe = probe;
    this.#stallMs = options.stallMs;
    this.#now = options.now ?? (() => performance.now());
  }

  /** True from a failed probe until a probe succeeds: statements are refused unsent meanwhile. */
  get stuck(): boolean {
    return this.#stuck;
  }

  /** Registers a wait on the server; `abandon` ends it if the server is found stuck. Returns the function that ends the registration. */
  begin(abandon: () => void): () => void {
    const wait: Wait = { since: this.#now(), abandon };
    this.#waits.add(wait);
    return () => this.#waits.delete(wait);
  }

  /**
   * Run on a timer: probes while the server is stuck (to see it come back),
   * or when a wait has lasted stallMs and the last probe is older than that.
   * Resolves when the probe (if one ran) has been judged.
   */
  check(): Promise<void> {
    if (this.#probing) return this.#probing;
    const now = this.#now();
    if (!this.#stuck) {
      let stalled = false;
      for (const wait of this.#waits) if (now - wait.since >= this.#stallMs) stalled = true;
      if (!stalled || now - this.#lastProbeAt < this.#stallMs) return Promise.resolve();
    }
    this.#lastProbeAt = now;
    this.#probing = this.#probe().then(
      () => {
        this.verdicts.answering++;
        this.#stuck = false;
      },
      () => {
        this.verdicts.stuck++;
        this.#stuck = true;
        const waits = [...this.#waits];
        this.#waits.clear();
        for (const wait of waits) wait.abandon();
      },
    );
    return this.#probing.finally(() => {
      this.#probing = undefined;
    });
  }
}
