import { runCli } from './program.ts';

// bin/custos: this process's command line. `serve` keeps running after its action returns.
runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // A failed command may leave handles open (a half-started server): end once the output is written.
  if (code !== 0) process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
});
