import { withEnvFile } from './env-file.ts';
import { processIo } from './io.ts';
import { runCli } from './program.ts';

// bin/custos: this process's command line, with the working directory's .env (the server and the CLI alike).
// `serve` keeps running after its action returns.
runCli(process.argv.slice(2), { ...processIo(), env: withEnvFile(process.env, process.cwd()) }).then((code) => {
  process.exitCode = code;
  // A failed command may leave handles open (a half-started server): end once the output is written.
  if (code !== 0) process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
});
