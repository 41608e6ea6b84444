import { InvalidIdentifier, PolicyViolation, ValidationError, type FieldProblem } from '../../shared/errors.ts';
import type { Policy } from '../policies/schema.ts';
import type { IdentifierPseudonyms } from '../pseudonyms/identifiers.ts';
import type { AttributeValue } from '../subjects/schema.ts';
import type { RequestScope, Submission } from './schema.ts';

/** Identifier kinds a code can be sent to, and on which channel. */
export const DELIVERY: Record<string, 'sms' | 'email'> = { phone: 'sms', email: 'email' };

/**
 * A submission checked against the loaded policy before anything is stored:
 * the identifier normalized, an opt-out's scope and a correction's fields
 * named by the policy. Every problem is reported at once.
 */
export function validateSubmission(policy: Policy, pseudonyms: IdentifierPseudonyms, input: Submission): { kind: string; normalized: string; correction?: Record<string, AttributeValue> } {
  const [kind, raw] = Object.entries(input.identifier)[0]!;
  const problems: FieldProblem[] = [];
  const definition = policy.fields[kind];
  if (!definition || definition.kind !== 'identifier') problems.push({ path: `identifier.${kind}`, message: 'is not an identifier field of the policy' });
  else if (!DELIVERY[kind]) problems.push({ path: `identifier.${kind}`, message: `a code cannot be sent to a ${kind}; use ${Object.keys(DELIVERY).join(' or ')}` });
  if (input.scope && input.type !== 'opt-out') problems.push({ path: 'scope', message: 'applies to opt-out requests only' });
  if (input.correction && input.type !== 'correction') problems.push({ path: 'correction', message: 'applies to correction requests only' });
  if (!input.correction && input.type === 'correction') problems.push({ path: 'correction', message: 'name the fields to correct and their right values' });
  problems.push(...scopeProblems(policy, input.scope));
  if (problems.length > 0) throw new ValidationError(problems);

  const normalized = pseudonyms.normalize(kind, raw);
  if ('problem' in normalized) throw new InvalidIdentifier([{ path: `identifier.${kind}`, message: normalized.problem }]);
  if (input.scope?.purposes) {
    const notConsent = input.scope.purposes.filter((p) => policy.purposes[p]!.basis !== 'consent');
    if (notConsent.length > 0) {
      throw new PolicyViolation(
        `${notConsent.join(', ')}: not based on consent, so there is no consent to withdraw`,
        notConsent.map((p) => ({ field: 'scope.purposes', reason: `${p} is based on ${policy.purposes[p]!.basis}` })),
      );
    }
  }
  let correction: Record<string, AttributeValue> | undefined;
  if (input.correction) {
    const collected = new Set(Object.values(policy.purposes).flatMap((p) => p.collect));
    const uncollected = Object.keys(input.correction).filter((f) => !collected.has(f));
    if (uncollected.length > 0) {
      throw new PolicyViolation(
        `no purpose collects ${uncollected.join(', ')}, so Custos holds no such field to correct`,
        uncollected.map((f) => ({ field: `correction.${f}`, reason: 'not-collected' })),
      );
    }
    correction = {};
    const invalid: FieldProblem[] = [];
    for (const [field, value] of Object.entries(input.correction)) {
      if (policy.fields[field]!.kind !== 'identifier') correction[field] = value;
      else {
        const result = pseudonyms.normalize(field, String(value));
        if ('problem' in result) invalid.push({ path: `correction.${field}`, message: result.problem });
        else correction[field] = result.value;
      }
    }
    if (invalid.length > 0) throw new InvalidIdentifier(invalid);
  }
  return { kind, normalized: normalized.value, correction };
}

function scopeProblems(policy: Policy, scope: RequestScope | undefined): FieldProblem[] {
  if (!scope) return [];
  const topics = new Set(Object.values(policy.purposes).flatMap((p) => p.topics));
  const unknown = (list: string[] | undefined, path: string, known: (name: string) => boolean, what: string) =>
    (list ?? []).flatMap((name, i) => (known(name) ? [] : [{ path: `scope.${path}[${i}]`, message: `"${name}" is not a ${what} of the policy` }]));
  return [
    ...unknown(scope.purposes, 'purposes', (p) => policy.purposes[p] !== undefined, 'purpose'),
    ...unknown(scope.channels, 'channels', (c) => policy.channels.includes(c), 'channel'),
    ...unknown(scope.topics, 'topics', (t) => topics.has(t), 'topic'),
  ];
}

/**
 * What a person can ask for under the loaded policy, for the privacy center's
 * forms: the channels and topics an opt-out can be narrowed to (those of
 * consent-based purposes), the identifiers to be reached by, and the fields
 * Custos may hold (so may be asked to correct). Nothing about any person.
 */
export function requestOptions(policy: Policy) {
  const consentBased = Object.values(policy.purposes).filter((p) => p.basis === 'consent');
  const fields = Object.entries(policy.fields);
  const collected = new Set(Object.values(policy.purposes).flatMap((p) => p.collect));
  return {
    optOut: {
      channels: [...new Set(consentBased.flatMap((p) => p.channels))],
      topics: [...new Set(consentBased.flatMap((p) => p.topics))].map((topic) => ({ name: topic, labels: policy.requests.topicLabels[topic] ?? {} })),
    },
    identifiers: fields
      .filter(([name, f]) => f.kind === 'identifier' && ['phone', 'email'].includes(f.normalize ?? '') && collected.has(name))
      .map(([name, f]) => ({ field: name, kind: f.normalize as 'phone' | 'email' })),
    correctable: fields.filter(([name]) => collected.has(name)).map(([name]) => name),
  };
}
