import { Writable } from 'node:stream';
import { createLogger } from '../src/logger.ts';

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: createLogger('info', sink) };
}

describe('logger', () => {
  it('writes one JSON line per entry, with level, message, service and timestamp', async () => {
    const { lines, logger } = capture();
    logger.info('request', { requestId: 'r1', status: 200 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({ level: 'info', message: 'request', service: 'custos', requestId: 'r1', status: 200, timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  });

  it('still writes a line for values plain JSON cannot hold (BigInt, cycles)', async () => {
    const { lines, logger } = capture();
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    logger.warn('odd', { big: 12n, cycle });
    await new Promise((resolve) => setImmediate(resolve));
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'warn', big: '12', cycle: { a: 1, self: '[Circular]' } });
  });
});
