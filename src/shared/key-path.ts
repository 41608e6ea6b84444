/** `["purposes", "marketing", "read", 2]` → `purposes.marketing.read[2]`: how problems name a key. */
export function formatKeyPath(segments: ReadonlyArray<PropertyKey>): string {
  return segments.reduce<string>((acc, s) => (typeof s === 'number' ? `${acc}[${s}]` : acc ? `${acc}.${String(s)}` : String(s)), '');
}
