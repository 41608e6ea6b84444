/**
 * The clock an expiry test moves instead of waiting: for the length of
 * `work`, the wall clock (Date) reads `ms` later than it is and runs on from
 * there; timers, the event loop and the drivers keep real time. A test of an
 * expiry then passes or fails on what Custos decides, never on how fast the
 * machine happens to be.
 */
export async function whenClockIsLater<T>(ms: number, work: () => Promise<T>): Promise<T> {
  jest.useFakeTimers({
    now: Date.now() + ms,
    advanceTimers: true,
    doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'],
  });
  try {
    return await work();
  } finally {
    jest.useRealTimers();
  }
}
