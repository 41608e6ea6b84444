/** Tests run the TypeScript sources through SWC as CommonJS. jose and
 * oidc-provider ship as ES modules only, so SWC transforms them too.
 *
 * Two tiers, both run by `npm test`:
 * - fast: pure functions (rules, folds, tree arithmetic, parsing) and the
 *   storage conformance suite on the embedded database; `npm run test:fast`
 *   runs it alone, in well under a minute, while you work.
 * - process: gateways, browsers, several processes, fault injection. */
const shared = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j|mj)s$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(jose|openid-client|oauth4webapi)/)'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
};

const fast = [
  '<rootDir>/test/*.test.ts',
  '<rootDir>/test/contacts/rules.test.ts',
  '<rootDir>/test/contacts/quiet-hours.test.ts',
  '<rootDir>/test/consent/fold.test.ts',
  '<rootDir>/test/audit/merkle.test.ts',
  '<rootDir>/test/audit/leaf.test.ts',
  '<rootDir>/test/pseudonyms/*.test.ts',
  '<rootDir>/test/policies/*.test.ts',
  '<rootDir>/test/subjects/collection.test.ts',
  '<rootDir>/test/storage/engine-conformance.test.ts',
  '<rootDir>/test/storage/database-watchdog.test.ts',
  '<rootDir>/test/storage/storage-errors.test.ts',
  '<rootDir>/test/requests/state-machine.test.ts',
  '<rootDir>/test/auth/auth-service.test.ts',
  '<rootDir>/test/consent/consent-service.test.ts',
];

module.exports = {
  testTimeout: 30000,
  maxWorkers: 2,
  projects: [
    { ...shared, displayName: 'fast', testMatch: fast },
    {
      ...shared,
      displayName: 'process',
      roots: ['<rootDir>/test', '<rootDir>/src'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...fast.map((p) => p.replace('<rootDir>', '').replace(/\*/g, '[^/]*').replace(/\./g, '\\.'))],
    },
  ],
};
