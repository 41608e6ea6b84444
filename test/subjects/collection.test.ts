import path from 'node:path';
import fc from 'fast-check';
import { loadPolicy } from '../../src/modules/policies/load.ts';
import { collectionViolations } from '../../src/modules/subjects/collection.ts';

/** Minimal collection as the pure rule the vault applies to every write. */
describe('collectionViolations', () => {
  const { policy } = loadPolicy(path.join(__dirname, '..', '..', 'policies'));

  it('accepts what the purpose collects, of the right kind', () => {
    expect(collectionViolations(policy, ['marketing'], 'marketing', ['phone', 'email'], ['name', 'pets'])).toEqual([]);
  });

  it('names every violation at once: unknown field, wrong kind, not collected', () => {
    expect(collectionViolations(policy, ['support'], 'support', ['phone', 'name', 'shoeSize'], ['birthday', 'email'])).toEqual([
      { field: 'identifiers.name', reason: 'not-an-identifier' },
      { field: 'identifiers.shoeSize', reason: 'unknown-field' },
      { field: 'attributes.birthday', reason: 'not-collected-for-purpose' },
      { field: 'attributes.email', reason: 'not-an-attribute' },
    ]);
  });

  it('refuses an unknown purpose and one the app was not granted, still checking the fields', () => {
    expect(collectionViolations(policy, ['support'], 'astrology', ['phone'], [])).toEqual([{ field: 'purpose', reason: 'unknown-purpose' }]);
    expect(collectionViolations(policy, ['support'], 'marketing', ['phone'], ['pets', 'nope'])).toEqual([
      { field: 'purpose', reason: 'purpose-not-granted' },
      { field: 'attributes.nope', reason: 'unknown-field' },
    ]);
  });

  it('for any write, flags exactly the fields a plain reading of the policy refuses', () => {
    const names = [...Object.keys(policy.fields), 'shoeSize', 'income'];
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(policy.purposes)), fc.subarray(names), fc.subarray(names), (purpose, identifiers, attributes) => {
        const collect = policy.purposes[purpose]!.collect;
        const refused = (name: string, kind: string) => !policy.fields[name] || policy.fields[name]!.kind !== kind || !collect.includes(name);
        const flagged = collectionViolations(policy, Object.keys(policy.purposes), purpose, identifiers, attributes).map((v) => v.field);
        expect(flagged).toEqual([
          ...identifiers.filter((n) => refused(n, 'identifier')).map((n) => `identifiers.${n}`),
          ...attributes.filter((n) => refused(n, 'attribute')).map((n) => `attributes.${n}`),
        ]);
      }),
      { numRuns: 300 },
    );
  });
});
