import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cleanUpEnvironment, REPO_ROOT, testEnvironment } from '../support/gateway.ts';
import { CUSTOS_BIN, runCustos, startProcess, type ChildProcess } from '../support/processes.ts';

interface Block {
  heading: string;
  script: string;
  /** Non-2xx statuses the block says to expect (`# expect NNN`), as a multiset. */
  expected: number[];
}

/** The ```sh blocks of the README's walkthrough section, each under its ### heading. */
function walkthroughBlocks(): Block[] {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Five-minute walkthrough');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const blocks: Block[] = [];
  let heading = '(before the first step)';
  const pattern = /^### (.+)$|^```sh\n([\s\S]*?)^```$/gm;
  for (let m = pattern.exec(section); m; m = pattern.exec(section)) {
    if (m[1]) heading = m[1];
    else blocks.push({ heading, script: m[2]!, expected: [...m[2]!.matchAll(/^# expect (\d{3})$/gm)].map((e) => Number(e[1])) });
  }
  return blocks;
}

/**
 * The README's walkthrough, run verbatim against a fresh gateway, block by
 * block in one bash session (so the variables of one block reach the next),
 * with the README's `http://localhost:8080` pointed at the test's gateway.
 * `curl` is wrapped only to report each answer's status on stderr.
 */
describe('README walkthrough', () => {
  let env: Record<string, string>;
  let server: ChildProcess & { url: string };

  beforeAll(async () => {
    // Heads every second, so the checkpoint the walkthrough keeps holds its events (a person pastes slower than the default 10 s).
    env = { ...testEnvironment(), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', AUDIT_TREE_HEAD_INTERVAL_MS: '1000' };
    if (env.DATABASE_URL) expect((await runCustos(['migrate'], { env })).code).toBe(0);
    const started = await startProcess([CUSTOS_BIN, 'serve'], { env: { ...env, LOG_LEVEL: 'info' }, ready: /"port":(\d+)/ });
    server = { ...started, url: `http://127.0.0.1:${started.match[1]}` };
  });
  let afterThis = () => {};
  afterEach(() => afterThis());
  afterAll(async () => {
    await server.stop();
    await cleanUpEnvironment(env);
  });

  it('runs every block as written, with only the answers the text expects', async () => {
    const blocks = walkthroughBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(10);
    const shell = spawn('bash', ['--noprofile', '--norc'], { cwd: REPO_ROOT, env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let errors = '';
    shell.stdout.on('data', (d: Buffer) => (output += d.toString()));
    shell.stderr.on('data', (d: Buffer) => (errors += d.toString()));
    afterThis = () => shell.kill();
    shell.stdin.write(`set -e -o pipefail\ncurl() { command curl -w '%{stderr}@@status %{http_code}\\n' "$@"; }\n`);

    for (const [i, block] of blocks.entries()) {
      const before = { output: output.length, errors: errors.length };
      const script = block.script.replaceAll('http://localhost:8080', server.url);
      shell.stdin.write(`${script}\necho "@@done ${i}" >&2\n`);
      const done = await new Promise<boolean>((resolve) => {
        const timer = setInterval(() => {
          if (errors.includes(`@@done ${i}\n`)) finish(true);
          else if (shell.exitCode !== null) finish(false);
        }, 50);
        const limit = setTimeout(() => finish(false), 60_000);
        function finish(ok: boolean) {
          clearInterval(timer);
          clearTimeout(limit);
          resolve(ok);
        }
      });
      const said = output.slice(before.output);
      const stderr = errors.slice(before.errors);
      const statuses = [...stderr.matchAll(/@@status (\d{3})/g)].map((m) => Number(m[1]));
      const unexpected = statuses.filter((s) => s < 200 || s > 299);
      const expected = [...block.expected].sort();
      const got = [...unexpected].sort();
      // A failing step names its heading and shows what it answered.
      if (!done || JSON.stringify(got) !== JSON.stringify(expected)) {
        throw new Error(
          `walkthrough step "${block.heading}" ${done ? `answered ${got.join(', ') || 'no error'} where the README expects ${expected.join(', ') || 'only 2xx'}` : 'did not complete (a command failed)'}\n` +
            `--- output ---\n${said.slice(-3000)}\n--- stderr ---\n${stderr.replace(/@@done[^\n]*\n/g, '').slice(-3000)}`,
        );
      }
    }
    shell.stdin.end();
    // WALKTHROUGH_TRANSCRIPT=file keeps what the blocks printed, for reading the answers.
    if (process.env.WALKTHROUGH_TRANSCRIPT) fs.writeFileSync(process.env.WALKTHROUGH_TRANSCRIPT, output);
  }, 180_000);
});
