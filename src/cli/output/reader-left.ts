/**
 * The reader of stdout left (`vega chat … | head -c 100`): a normal end of any command. The
 * entry (`src/cli.ts`) then ends the process with exit 0 at once — except that work which must
 * leave a record first holds the exit until it has (a chat turn stores its partial answer as
 * `aborted`, as when an HTTP client leaves), for at most WIND_DOWN_MS. Kept free of imports:
 * the entry loads it before anything else.
 */
const WIND_DOWN_MS = 5_000;

interface Hold {
  stop: () => void;
  done: Promise<unknown>;
}

const holds = new Set<Hold>();
let left = false;

/** True once stdout's reader has left: the command's own failure from then on is not reported. */
export function readerHasLeft(): boolean {
  return left;
}

/**
 * Runs `work`; if the reader leaves meanwhile, `stop` is called (abort the work) and the
 * process ends only once `work` has settled.
 */
export async function windDownWhenReaderLeaves<T>(stop: () => void, work: Promise<T>): Promise<T> {
  const hold: Hold = { stop, done: work };
  holds.add(hold);
  try {
    return await work;
  } finally {
    holds.delete(hold);
  }
}

/** Called once by the entry when stdout fails with EPIPE: stops the held work and waits for it (bounded). */
export async function readerLeft(): Promise<void> {
  left = true;
  const pending = [...holds];
  if (pending.length === 0) return;
  for (const hold of pending) hold.stop();
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, WIND_DOWN_MS)));
  await Promise.race([Promise.allSettled(pending.map((hold) => hold.done)), limit]);
  clearTimeout(timer);
}
