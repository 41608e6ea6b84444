import type { Policy, PurposeDefinition } from '../policies/schema.ts';

export interface Violation {
  field: string;
  reason: 'unknown-purpose' | 'purpose-not-granted' | 'unknown-field' | 'not-an-identifier' | 'not-an-attribute' | 'not-collected-for-purpose';
}

/** The purpose, if it exists and the app holds it; otherwise the violation that says why not. */
export function grantedPurpose(policy: Policy, granted: readonly string[], purpose: string): { definition: PurposeDefinition } | { violation: Violation } {
  const definition = policy.purposes[purpose];
  if (!definition) return { violation: { field: 'purpose', reason: 'unknown-purpose' } };
  if (!granted.includes(purpose)) return { violation: { field: 'purpose', reason: 'purpose-not-granted' } };
  return { definition };
}

/**
 * Minimal collection: every identifier and attribute named in a write must be
 * a declared field of the right kind that the purpose collects. Reports every
 * violation, not only the first, so the caller can fix the request in one go.
 */
export function collectionViolations(policy: Policy, granted: readonly string[], purpose: string, identifiers: string[], attributes: string[]): Violation[] {
  const access = grantedPurpose(policy, granted, purpose);
  const violations: Violation[] = 'violation' in access ? [access.violation] : [];
  const collect = 'definition' in access ? access.definition.collect : undefined;
  const check = (names: string[], kind: 'identifier' | 'attribute', prefix: string) => {
    for (const name of names) {
      const field = `${prefix}.${name}`;
      const definition = policy.fields[name];
      if (!definition) violations.push({ field, reason: 'unknown-field' });
      else if (definition.kind !== kind) violations.push({ field, reason: kind === 'identifier' ? 'not-an-identifier' : 'not-an-attribute' });
      else if (collect && !collect.includes(name)) violations.push({ field, reason: 'not-collected-for-purpose' });
    }
  };
  check(identifiers, 'identifier', 'identifiers');
  check(attributes, 'attribute', 'attributes');
  return violations;
}
