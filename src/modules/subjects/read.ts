import { ConsentRequired, Forbidden, NotFound, PolicyViolation } from '../../shared/errors.ts';
import type { RequestContext } from '../../shared/request-context.ts';
import { appPseudonym, isRefShaped } from '../pseudonyms/derive.ts';
import { grantedPurpose, type Violation } from './collection.ts';
import type { AttributeValue } from './schema.ts';
import * as store from './store.ts';
import { requiredBasis } from '../consent/reads.ts';
import type { AppCaller, ConsentReadOf, SubjectView, Vault } from './vault.ts';

export async function readSubject(vault: Vault, consentReadOf: ConsentReadOf, ctx: RequestContext, caller: AppCaller, ref: string, purpose: string, recipient?: string): Promise<SubjectView> {
  const { db, policy, keys, refuse, dataKeyOf, decryptValue } = vault;
  const action = 'subjects.subject.read';
  const access = grantedPurpose(policy, caller.purposes, purpose);
  if ('violation' in access) return refuse(ctx, { action, purpose, reasons: [{ code: access.violation.reason }] }, readRefusal(access.violation));
  // A recipient is a name the policy declares for the purpose, never caller text.
  if (recipient !== undefined && !access.definition.recipients.includes(recipient)) {
    const reason = `not a recipient of ${purpose} (${access.definition.recipients.join(', ') || 'the policy declares none'})`;
    return refuse(ctx, { action, purpose, reasons: [{ code: 'unknown-recipient' }] }, new PolicyViolation(`recipient: ${reason}`, [{ field: 'recipient', reason }]));
  }
  // The consent is read in the same statement as the subject.
  const consent = consentReadOf(purpose, { recipient });
  const found = isRefShaped(ref) ? await store.readSubjectByRef(db, ref, access.definition.read, [consent.column] as const) : undefined;
  if (!found || found.subject.appId !== caller.clientId) return refuse(ctx, { action, purpose, reasons: [{ code: 'unknown-ref' }] }, new NotFound('no subject with this ref'));
  const { subject, fields: sealed } = found;
  const subjectId = subject.id;
  let basis: string;
  try {
    basis = requiredBasis(purpose, consent.checked(found.alongside[0]));
  } catch (error) {
    if (error instanceof ConsentRequired) return refuse(ctx, { action, subject: subjectId, purpose, reasons: [{ code: 'no-consent' }] }, error);
    throw error;
  }
  const dataKey = dataKeyOf(subject);
  const view: SubjectView = { ref, purpose, attributes: {}, identifiers: {}, timezone: vault.openTimezone(subject, dataKey) };
  for (const [field, ciphertext] of sealed) {
    const value = decryptValue(dataKey, subjectId, field, ciphertext);
    if (policy.fields[field]?.kind === 'identifier') view.identifiers[field] = appPseudonym(keys.appPseudonymKey, caller.clientId, field, String(value));
    else view.attributes[field] = value as AttributeValue;
  }
  // The values leave Custos only once their audit event is committed.
  await vault.audit.record(ctx, { action, decision: 'allow', subject: subjectId, purpose, fields: [...sealed.keys()], reasons: [{ code: basis }] });
  return view;
}

export function readRefusal(violation: Violation): Error {
  return violation.reason === 'purpose-not-granted'
    ? new Forbidden('this app is not granted the requested purpose')
    : new PolicyViolation('the purpose does not exist in the loaded policy', [{ ...violation }]);
}
