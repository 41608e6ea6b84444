import cliProgress from 'cli-progress';
import { cliIo } from './io.ts';

export interface Progress {
  update: (done: number) => void;
  done: () => void;
}

/** A progress bar on stderr when a person is watching (a TTY, no --json); silent otherwise. */
export function progressReporter(label: string, total: number, quiet = false): Progress {
  const stream = cliIo().stderr;
  if (quiet || !stream.isTTY || total === 0) return { update: () => undefined, done: () => undefined };
  const bar = new cliProgress.SingleBar({ format: `${label} [{bar}] {percentage}% | {value}/{total} | {eta_formatted} left`, stream, hideCursor: true }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  return { update: (done) => bar.update(Math.min(done, total)), done: () => bar.stop() };
}
