import { randomBytes, randomUUID } from 'node:crypto';
import { seal } from '../../crypto/envelope.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import type { Tx } from '../../storage/database.ts';
import { appendAuditEvents } from '../audit/service.ts';
import type { AuditEventInput } from '../audit/schema.ts';
import { currentKeyVersion } from '../key-ring/store.ts';
import { newRef, newSubjectId } from '../pseudonyms/derive.ts';
import * as store from './store.ts';
import type { Vault } from './vault.ts';

// Seeding lives with the subjects because it writes the subjects' own rows in bulk, through the
// same encryption and pseudonyms as real writes; `custos demo seed` calls it.
const SEED_BATCH_SIZE = 1000;
const SAMPLE_COUNT = 3;

/** A seeded person to try the API with: the demo app's ref, and the (fake) identifiers to look them up by. */
export interface DemoSample {
  ref: string;
  phone: string;
  email: string;
}

/** `custos demo seed`: realistic fake customers, written through the same encryption and pseudonyms, in bulk. */
export async function seedSubjects(
  vault: Vault,
  ctx: RequestContext,
  appId: string,
  count: number,
  onProgress?: (done: number) => void,
  options: { firstSerial?: number } = {},
): Promise<{ created: number; samples: DemoSample[] }> {
  const { db, policy, keys, digestKeys, encryptValue } = vault;
  const purpose = Object.keys(policy.purposes)[0]!;
  let created = 0;
  const samples: DemoSample[] = [];
  let serial = options.firstSerial ?? Math.floor(Math.random() * 50_000_000);
  // Batches run until `count` people were really created: a drawn number already taken is skipped and drawn again.
  while (created < count) {
    const size = Math.min(SEED_BATCH_SIZE, count - created);
    await db.transaction(async (tx) => {
      const current = await currentKeyVersion(tx);
      const now = new Date();
      const batch: Parameters<typeof store.insertSubjectsBulk>[1] = { subjects: [], identifiers: [], fields: [], changes: [], refs: [] };
      const events: AuditEventInput[] = [];
      const people = new Map<string, Record<string, unknown>>();
      for (let i = 0; i < size; i++) {
        const person = fakePerson(serial++);
        const id = newSubjectId();
        people.set(id, person);
        const dataKey = randomBytes(32);
        batch.subjects.push({ id, timezone: null, keyVersion: current, wrappedKey: seal(keys.wrappingKey(current), dataKey, id), createdAt: now, updatedAt: now });
        for (const [field, value] of Object.entries(person)) {
          if (!policy.fields[field]) continue;
          const ciphertext = encryptValue(dataKey, id, field, value);
          batch.fields.push({ subjectId: id, field, ciphertext, updatedAt: now });
          batch.changes.push({ id: randomUUID(), subjectId: id, field, change: 'set', ciphertext, purpose, actorId: ctx.actor.id ?? null, requestId: ctx.requestId, changedAt: now });
          if (policy.fields[field].kind === 'identifier') batch.identifiers.push({ ...digestKeys(field, String(value), [current])[0]!, subjectId: id });
        }
        batch.refs.push({ ref: newRef(), appId, subjectId: id, createdAt: now });
        events.push({ action: 'subjects.subject.create', decision: 'allow', subject: id, purpose, fields: Object.keys(person).filter((f) => policy.fields[f]), reasons: [{ code: 'demo-seed' }] });
      }
      // A re-run may draw numbers an earlier seed used; those people exist already and are skipped.
      const taken = new Set(await existingDigests(tx, batch.identifiers));
      const skip = new Set(batch.identifiers.filter((i) => taken.has(`${i.kind}:${i.digest}`)).map((i) => i.subjectId));
      const keep = <T extends { subjectId?: string; id?: string }>(rows: T[]) => rows.filter((r) => !skip.has((r.subjectId ?? r.id)!));
      await store.insertSubjectsBulk(tx, {
        subjects: batch.subjects.filter((x) => !skip.has(x.id)),
        identifiers: keep(batch.identifiers),
        fields: keep(batch.fields),
        changes: keep(batch.changes),
        refs: keep(batch.refs),
      });
      await appendAuditEvents(
        tx,
        ctx,
        events.filter((e) => !skip.has(e.subject!)),
      );
      created += size - skip.size;
      for (const r of keep(batch.refs)) {
        if (samples.length >= SAMPLE_COUNT) break;
        const person = people.get(r.subjectId)!;
        samples.push({ ref: r.ref, phone: String(person.phone), email: String(person.email) });
      }
    });
    onProgress?.(created);
  }
  return { created, samples };
}

async function existingDigests(tx: Tx, keys: store.DigestKey[]): Promise<string[]> {
  return (await store.findOwnersOfDigests(tx, keys)).map((k) => `${k.kind}:${k.digest}`);
}

const GIVEN = ['Wei', 'Na', 'Fang', 'Lei', 'Jing', 'Min', 'Jun', 'Yan', 'Hao', 'Xin', 'Li', 'Tao'];
const FAMILY = ['Wang', 'Li', 'Zhang', 'Liu', 'Chen', 'Yang', 'Zhao', 'Huang', 'Zhou', 'Wu'];
const PETS = ['cat', 'dog', 'bird', 'fish', 'rabbit'];
const MOBILE_PREFIXES = ['138', '139', '150', '151', '186', '187', '135', '136'];

/** A fake Chinese mobile customer; `serial` makes the number unique within one run. */
function fakePerson(serial: number): Record<string, unknown> {
  const prefix = MOBILE_PREFIXES[serial % MOBILE_PREFIXES.length]!;
  const number = String(Math.floor(serial / MOBILE_PREFIXES.length) % 100_000_000).padStart(8, '0');
  return {
    phone: `+86${prefix}${number}`,
    email: `customer.${serial.toString(36)}@example.com`,
    name: `${FAMILY[serial % FAMILY.length]} ${GIVEN[(serial >> 3) % GIVEN.length]}`,
    pets: [PETS[serial % PETS.length]!],
  };
}
