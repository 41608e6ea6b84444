import { quietHoursAt, wallTimeToInstant } from '../../src/modules/contacts/quiet-hours.ts';

const night = { start: '21:00', end: '08:00' };

describe('quiet hours in the subject’s time zone', () => {
  it('is quiet late at night and early in the morning, local time, and says when it ends', () => {
    // 22:30 in Shanghai (UTC+8) is 14:30 UTC.
    expect(quietHoursAt(new Date('2026-05-10T14:30:00Z'), 'Asia/Shanghai', night)).toEqual({ quiet: true, until: new Date('2026-05-11T00:00:00Z') });
    // 07:59 in Shanghai the next morning.
    expect(quietHoursAt(new Date('2026-05-10T23:59:00Z'), 'Asia/Shanghai', night)).toEqual({ quiet: true, until: new Date('2026-05-11T00:00:00Z') });
    // 08:00 sharp is allowed again; so is 20:59.
    expect(quietHoursAt(new Date('2026-05-11T00:00:00Z'), 'Asia/Shanghai', night)).toEqual({ quiet: false });
    expect(quietHoursAt(new Date('2026-05-11T12:59:00Z'), 'Asia/Shanghai', night)).toEqual({ quiet: false });
  });

  it('uses the subject’s zone, not the server’s: the same instant is quiet in one city and not another', () => {
    const instant = new Date('2026-05-10T14:30:00Z'); // 22:30 Shanghai, 15:30 London
    expect(quietHoursAt(instant, 'Asia/Shanghai', night).quiet).toBe(true);
    expect(quietHoursAt(instant, 'Europe/London', night).quiet).toBe(false);
  });

  it('handles windows that do not cross midnight', () => {
    const lunch = { start: '12:00', end: '13:30' };
    expect(quietHoursAt(new Date('2026-05-10T04:15:00Z'), 'Asia/Shanghai', lunch)).toEqual({ quiet: true, until: new Date('2026-05-10T05:30:00Z') });
    expect(quietHoursAt(new Date('2026-05-10T05:30:00Z'), 'Asia/Shanghai', lunch)).toEqual({ quiet: false });
  });

  it('is right across the spring-forward night (Europe/Berlin, 29 March 2026)', () => {
    // 23:00 CET on 28 March is 22:00 UTC; the window ends at 08:00 CEST on 29 March = 06:00 UTC.
    expect(quietHoursAt(new Date('2026-03-28T22:00:00Z'), 'Europe/Berlin', night)).toEqual({ quiet: true, until: new Date('2026-03-29T06:00:00Z') });
  });

  it('is right across the fall-back night (America/New_York, 1 November 2026)', () => {
    // 22:00 EDT on 31 October is 02:00 UTC; 08:00 EST on 1 November is 13:00 UTC.
    expect(quietHoursAt(new Date('2026-11-01T02:00:00Z'), 'America/New_York', night)).toEqual({ quiet: true, until: new Date('2026-11-01T13:00:00Z') });
  });

  it('moves a wall time inside a spring-forward gap forward by the gap', () => {
    // 02:30 does not exist in Berlin on 29 March 2026 (02:00 CET jumps to 03:00 CEST); it reads as 03:30 CEST.
    expect(wallTimeToInstant(2026, 3, 29, 150, 'Europe/Berlin').toISOString()).toBe('2026-03-29T01:30:00.000Z');
  });
});
