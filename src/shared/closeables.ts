/**
 * What a runtime opened and must close: the database pool, worker threads,
 * timers and background loops. Each is registered right after it is opened;
 * closing runs them in the reverse order (the database last), once, and a
 * failure of one is reported and never stops the others. The runtime closes
 * its registry on shutdown and on any start-up failure, so a command that
 * fails half-way exits instead of hanging on an open pool or worker.
 */
export interface Closeables {
  /** Registers `close` under `name`; answers what was opened, for use in one expression. */
  add<T>(name: string, opened: T, close: (opened: T) => unknown): T;
  closeAll(): Promise<void>;
  /** Names still open, oldest first (for tests and diagnostics). */
  open(): string[];
}

export function createCloseables(onError: (name: string, error: unknown) => void = () => undefined): Closeables {
  const entries: Array<{ name: string; close: () => unknown }> = [];
  let closing: Promise<void> | undefined;
  return {
    add(name, opened, close) {
      entries.push({ name, close: () => close(opened) });
      return opened;
    },
    closeAll() {
      closing ??= (async () => {
        while (entries.length > 0) {
          const { name, close } = entries.pop()!;
          try {
            await close();
          } catch (error) {
            onError(name, error);
          }
        }
        closing = undefined;
      })();
      return closing;
    },
    open: () => entries.map((e) => e.name),
  };
}
