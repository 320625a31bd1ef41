import { LineSink } from '../../modules/datasets/line-sink';
import { CommandFailedError, UsageError } from '../cli-errors';

/** Where a command's records go: a new `--out` file, or stdout. */
export interface LineOutput {
  sink: LineSink;
  close: () => Promise<void>;
}

/**
 * Opens `--out` (a new private file: an existing one is never overwritten) or stdout. Every
 * command with `--out FILE` opens it here, so an existing file is refused the same way
 * everywhere: a usage error (exit 2) that names the file, before any work is done.
 */
export async function openOutput(out: string | undefined): Promise<LineOutput> {
  if (!out) return { sink: new LineSink(process.stdout), close: async () => undefined };
  try {
    return await LineSink.createFile(out);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new UsageError(`${out} already exists; choose another --out (an existing file is never overwritten)`);
    }
    throw new CommandFailedError(`cannot write ${out}: ${(error as Error).message}`);
  }
}
