import { parsePhoneNumberWithError, type CountryCode } from 'libphonenumber-js/max';
import type { FieldDefinition } from '../policies/schema.ts';

export type Normalized = { value: string } | { problem: string };

// Digits and the separators people type; letters are refused rather than silently dropped.
const PHONE_CHARACTERS = /^\+?[\d\s().\-/]{4,40}$/;
// Printable ASCII only: look-alike letters from other scripts (Cyrillic "а" for Latin "a") are refused.
const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function normalizePhone(raw: string, region: string): Normalized {
  const text = raw.trim();
  if (!PHONE_CHARACTERS.test(text)) return { problem: 'must be a phone number: digits, spaces and + ( ) - . / only' };
  try {
    const phone = parsePhoneNumberWithError(text, region as CountryCode);
    if (!phone.isValid()) return { problem: `is not a valid phone number (default region ${region})` };
    return { value: phone.number };
  } catch {
    return { problem: `is not a valid phone number (default region ${region})` };
  }
}

function normalizeEmail(raw: string): Normalized {
  const text = raw.trim();
  if (text.length > 254 || !EMAIL.test(text)) return { problem: 'must be an e-mail address in plain ASCII, like name@example.com' };
  return { value: text.toLowerCase() };
}

/**
 * The form an identifier is matched, pseudonymized and stored in. Same person, same form.
 * Unicode NFKC first, for every kind: full-width digits and signs typed on a Chinese keyboard
 * ("１３８００１３８０００", "＋８６") and no-break spaces become their plain forms, so they
 * match the plain number. Look-alike letters of other scripts are not folded (they are
 * different text): e-mail addresses refuse them, other identifiers keep them distinct.
 */
export function normalizeIdentifier(definition: FieldDefinition, input: string, region: string): Normalized {
  if (LONE_SURROGATE.test(input)) return { problem: 'holds half of a UTF-16 surrogate pair' };
  const raw = input.normalize('NFKC');
  if (CONTROL.test(raw)) return { problem: 'must not contain control characters' };
  switch (definition.normalize) {
    case 'phone':
      return normalizePhone(raw, region);
    case 'email':
      return normalizeEmail(raw);
    default: {
      const value = raw.trim();
      return value === '' ? { problem: 'must not be empty' } : { value };
    }
  }
}
