import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPolicy, PolicyError } from '../../src/modules/policies/load.ts';
import { EXAMPLE_POLICY_DIR, testEnvironment, cleanUpEnvironment } from '../support/gateway.ts';
import { runCustosInProcess } from '../support/cli.ts';
import { runCustos } from '../support/processes.ts';

const example = fs.readFileSync(path.join(EXAMPLE_POLICY_DIR, 'custos.yaml'), 'utf8');

/** Writes the example policy with one edit into a fresh dir. */
function policyDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-policy-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

function problemsOf(dir: string) {
  try {
    loadPolicy(dir);
  } catch (error) {
    if (error instanceof PolicyError) return error.problems.map((p) => ({ ...p, file: path.basename(p.file) }));
    throw error;
  }
  throw new Error('expected the policy to be refused');
}

describe('policy as code', () => {
  it('loads the example policy with a stable version hash', () => {
    const a = loadPolicy(EXAMPLE_POLICY_DIR);
    expect(Object.keys(a.policy.purposes)).toEqual(['marketing', 'support']);
    expect(a.version).toMatch(/^[0-9a-f]{16}$/);
    // Comments and layout do not change the version; content does.
    const reformatted = policyDir({ 'custos.yaml': `# a comment\n${example.replace(/ {2,}#.*$/gm, '')}` });
    expect(loadPolicy(reformatted).version).toBe(a.version);
    const changed = policyDir({ 'custos.yaml': example.replace('max: 1, per: P1D', 'max: 2, per: P1D') });
    expect(loadPolicy(changed).version).not.toBe(a.version);
  });

  it('merges several files and names the one that redefines a key', () => {
    const [base, purposes] = example.split(/^purposes:$/m);
    const [purposeBlock, rest] = purposes!.split(/^limits:.*$/m);
    const ok = policyDir({ 'a-base.yaml': `${base}limits:${rest}`, 'b-purposes.yaml': `purposes:${purposeBlock}` });
    expect(Object.keys(loadPolicy(ok).policy.purposes)).toEqual(['marketing', 'support']);
    const twice = policyDir({ 'a.yaml': example, 'b.yaml': `purposes:${purposeBlock}` });
    expect(problemsOf(twice)).toContainEqual({ file: 'b.yaml', path: 'purposes.marketing', message: 'already defined in ' + path.relative(process.cwd(), path.join(twice, 'a.yaml')) });
  });

  it.each([
    [
      'a purpose that reads a field it does not collect',
      example.replace('read: [name, pets]', 'read: [name, pets, birthday]'),
      'purposes.marketing.read[2]',
      /"birthday" is read but not in this purpose's collect list/,
    ],
    ['an unknown channel', example.replace('channels: [call, email]', 'channels: [call, pigeon]'), 'purposes.support.channels[1]', /unknown channel "pigeon"/],
    ['a malformed ISO 8601 duration', example.replace('max: 3, per: P7D', 'max: 3, per: 7 days'), 'limits[1].per', /ISO 8601 duration/],
    ['an unknown key', example.replace('retention: P2Y', 'retention: P2Y\n    retain: forever'), 'purposes.marketing', /retain/],
    ['a field not declared', example.replace('collect: [email, phone, name, pets]', 'collect: [email, phone, name, pets, shoeSize]'), 'purposes.marketing.collect[4]', /"shoeSize" is not a field/],
    ['an unknown lawful basis', example.replace('basis: contract', 'basis: vibes'), 'purposes.support.basis', /consent/],
    ['a bad quiet-hours time', example.replace('start: "21:00", end: "08:00" }\n  sms', 'start: "25:00", end: "08:00" }\n  sms'), 'quietHours.call.start', /HH:MM/],
    ['an unknown time zone', example.replace('timezone: Asia/Shanghai', 'timezone: Mars/Olympus'), 'defaults.timezone', /IANA/],
    ['a revealed attribute', example.replace('reveal: [phone]', 'reveal: [name]'), 'purposes.support.reveal[0]', /not an identifier/],
    ['a label for a topic no purpose has', example.replace('bird-food: { en: bird food', 'fish-food: { en: fish food'), 'requests.topicLabels.fish-food', /"fish-food" is not a topic of any purpose/],
    ['an exempt purpose that does not exist', example.replace('exemptPurposes: [support]', 'exemptPurposes: [billing]'), 'doNotCall.exemptPurposes[0]', /unknown purpose "billing"/],
  ])('refuses %s, naming file, key path and problem', (_name, text, keyPath, message) => {
    const problems = problemsOf(policyDir({ 'custos.yaml': text }));
    expect(problems).toContainEqual({ file: 'custos.yaml', path: keyPath, message: expect.stringMatching(message) });
  });

  it('refuses broken YAML and duplicate keys', () => {
    expect(problemsOf(policyDir({ 'custos.yaml': 'purposes: [unclosed' }))[0]!.message).toMatch(/^YAML:/);
    expect(problemsOf(policyDir({ 'custos.yaml': `${example}\nchannels: [call]\n` }))[0]!.message).toMatch(/^YAML:.*unique/i);
  });

  it('refuses an empty or missing directory', () => {
    expect(problemsOf(policyDir({}))[0]!.message).toBe('no .yaml policy files found');
    expect(problemsOf('/nonexistent/policies')[0]!.message).toBe('policy directory does not exist');
  });
});

describe('custos policy check and start-up', () => {
  const bad = () => policyDir({ 'custos.yaml': example.replace('max: 3, per: P7D', 'max: 3, per: weekly') });

  it('prints the version of a good policy and exits 0', async () => {
    const result = await runCustosInProcess(['policy', 'check', EXAMPLE_POLICY_DIR, '--json'], { env: {} });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, version: loadPolicy(EXAMPLE_POLICY_DIR).version, purposes: ['marketing', 'support'] });
  });

  it('exits 1 naming file, key path and problem', async () => {
    const result = await runCustosInProcess(['policy', 'check', bad()], { env: {} });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/custos\.yaml: limits\[1\]\.per: must be an ISO 8601 duration/);
  });

  it('stops start-up with exit 1 on a bad policy', async () => {
    const env = testEnvironment({ POLICY_DIR: bad(), PORT: '0' });
    try {
      const result = await runCustos(['serve'], { env });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/limits\[1\]\.per/);
    } finally {
      await cleanUpEnvironment(env);
    }
  });
});
