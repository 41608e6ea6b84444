import { createHash, randomBytes } from 'node:crypto';
import { Forbidden } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import { CHANNEL_IDENTIFIER, validateRequest, type ContactCaller, type Contacts } from './contacts.ts';
import type { ContactRequest } from './rules.ts';
import { decidePart, SCRUB_PART } from './scrub.ts';

export type SuppressionFormat = 'refs' | 'hashed-phone';

/** One line of a suppression list: a ref (or a salted hash of its number) that may not be contacted now, and why. */
export type SuppressionLine = { ref: string; reasons: string[] } | { phoneHash: string; reasons: string[] };

/**
 * The salted hash a vendor's upload file is scrubbed with: SHA-256 over the
 * export's salt then the E.164 number, hex. The salt is new for every export
 * and sent only with it, so hashes of two exports cannot be joined and a
 * table of hashed numbers built beforehand matches nothing.
 */
export function phoneHash(salt: Buffer, e164: string): string {
  return createHash('sha256').update(salt).update(e164, 'utf8').digest('hex');
}

/**
 * A suppression list for systems that contact people offline (a dialer, an
 * SMS vendor): every ref of the calling app that may not be contacted for
 * this channel, purpose, topic and recipient now, with the reason codes, in
 * subject order. The same rules as authorize (do-not-call lists, consent,
 * topics, recipients, quiet hours and caps as of now), decided a part at a
 * time like a scrub and audited the same way: one event per person decided.
 * `hashed-phone` lists salted hashes of the numbers instead of refs; it is
 * for apps that may reveal the number on that channel, since a hash confirms
 * a number the app holds.
 */
export async function suppressions(
  c: Contacts,
  ctx: RequestContext,
  caller: ContactCaller & { reveal: readonly string[] },
  input: ContactRequest & { format: SuppressionFormat },
): Promise<{ salt?: Buffer; lines: AsyncGenerator<SuppressionLine, { checked: number; suppressed: number }> }> {
  const action = 'contacts.suppressions';
  if (input.format === 'hashed-phone' && (CHANNEL_IDENTIFIER[input.channel] !== 'phone' || !caller.reveal.includes(input.channel))) {
    await c.refuse(
      ctx,
      { action, purpose: input.purpose, reason: 'reveal-not-granted' },
      new Forbidden(`hashed-phone lists are for apps that may reveal the number on ${input.channel} (a phone channel); this app may not`),
    );
  }
  await validateRequest(c, ctx, input, action);
  const salt = input.format === 'hashed-phone' ? randomBytes(32) : undefined;
  const now = new Date();
  async function* lines(): AsyncGenerator<SuppressionLine, { checked: number; suppressed: number }> {
    let after = '';
    let checked = 0;
    let suppressed = 0;
    for (;;) {
      const page = await c.subjects.refsOfApp(caller.clientId, after, SCRUB_PART);
      if (page.length === 0) break;
      after = page.at(-1)!.subjectId;
      const decided = await decidePart(
        c,
        ctx,
        caller,
        input,
        page.map((p) => p.ref),
        action,
        now,
        { withValue: salt !== undefined },
      );
      for (const { ref, reasons, value } of decided) {
        checked++;
        if (reasons.length === 0) continue;
        const codes = reasons.map((r) => r.code);
        if (salt) {
          // A person with no number cannot be called from the list; nothing to suppress.
          if (value === null) continue;
          suppressed++;
          yield { phoneHash: phoneHash(salt, value), reasons: codes };
        } else {
          suppressed++;
          yield { ref, reasons: codes };
        }
      }
      if (page.length < SCRUB_PART) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return { checked, suppressed };
  }
  return { salt, lines: lines() };
}
