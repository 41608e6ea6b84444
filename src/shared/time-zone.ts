/** Whether the runtime knows this IANA time zone name (Asia/Shanghai, Europe/Berlin, UTC). */
export function isIanaTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export const TIME_ZONE_MESSAGE = 'must be an IANA time zone such as Asia/Shanghai';
