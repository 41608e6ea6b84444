import { DatabaseWatchdog } from '../../src/storage/database-watchdog.ts';

/** A probe the test answers by hand, and a clock it moves by hand. */
function harness(stallMs = 800) {
  let now = 0;
  const probes: Array<{ answer: () => void; fail: () => void }> = [];
  const watchdog = new DatabaseWatchdog(
    () =>
      new Promise<void>((resolve, reject) => {
        probes.push({ answer: resolve, fail: () => reject(new Error('no answer')) });
      }),
    { stallMs, now: () => now },
  );
  return { watchdog, probes, advance: (ms: number) => (now += ms) };
}

describe('the database watchdog', () => {
  it('does not probe while every wait is younger than the stall bound', async () => {
    const { watchdog, probes, advance } = harness();
    const end = watchdog.begin(() => undefined);
    advance(799);
    await watchdog.check();
    expect(probes).toHaveLength(0);
    end();
    advance(10_000);
    await watchdog.check();
    expect(probes).toHaveLength(0);
  });

  it('leaves a slow wait alone when the server still answers its probe', async () => {
    const { watchdog, probes, advance } = harness();
    const abandoned: string[] = [];
    watchdog.begin(() => abandoned.push('long search'));
    advance(800);
    const judged = watchdog.check();
    expect(probes).toHaveLength(1);
    probes[0]!.answer();
    await judged;
    expect({ stuck: watchdog.stuck, abandoned }).toEqual({ stuck: false, abandoned: [] });
    // One probe per stall bound, however long the search runs.
    advance(400);
    await watchdog.check();
    expect(probes).toHaveLength(1);
    advance(400);
    void watchdog.check();
    expect(probes).toHaveLength(2);
  });

  it('abandons every wait at once when the probe gets no answer, and is stuck until a probe answers again', async () => {
    const { watchdog, probes, advance } = harness();
    const abandoned: string[] = [];
    watchdog.begin(() => abandoned.push('in flight before the pause'));
    advance(700);
    const endYoung = watchdog.begin(() => abandoned.push('young wait'));
    const endDone = watchdog.begin(() => abandoned.push('already answered'));
    endDone();
    advance(100);
    const judged = watchdog.check();
    // A second check while the probe is out sends no second probe.
    void watchdog.check();
    expect(probes).toHaveLength(1);
    probes[0]!.fail();
    await judged;
    expect({ stuck: watchdog.stuck, abandoned }).toEqual({ stuck: true, abandoned: ['in flight before the pause', 'young wait'] });
    endYoung();

    // While stuck, every check probes (no wait needed), and the first answer ends it.
    const again = watchdog.check();
    expect(probes).toHaveLength(2);
    probes[1]!.fail();
    await again;
    expect(watchdog.stuck).toBe(true);
    const back = watchdog.check();
    probes[2]!.answer();
    await back;
    expect(watchdog.stuck).toBe(false);
    // Waits registered after the recovery are not abandoned by the old verdict.
    watchdog.begin(() => abandoned.push('after recovery'));
    await watchdog.check();
    expect(abandoned).not.toContain('after recovery');
  });
});
