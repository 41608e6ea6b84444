import { createCloseables } from '../src/shared/closeables.ts';

describe('closeables', () => {
  it('closes in reverse order of opening, each once, and a failure never stops the rest', async () => {
    const closed: string[] = [];
    const failures: string[] = [];
    const registry = createCloseables((name) => failures.push(name));
    const pool = registry.add('pool', { id: 'pool' }, (p) => closed.push(p.id));
    registry.add('worker', 'worker', () => {
      throw new Error('already gone');
    });
    registry.add('timer', 'timer', async (t) => {
      await Promise.resolve();
      closed.push(t);
    });
    expect(pool).toEqual({ id: 'pool' });
    expect(registry.open()).toEqual(['pool', 'worker', 'timer']);
    await Promise.all([registry.closeAll(), registry.closeAll()]);
    expect(closed).toEqual(['timer', 'pool']);
    expect(failures).toEqual(['worker']);
    expect(registry.open()).toEqual([]);
    await registry.closeAll();
    expect(closed).toEqual(['timer', 'pool']);
  });
});
