import { spawn } from 'node:child_process';
import { once } from 'node:events';

/** A second process holding `BEGIN EXCLUSIVE` on a database file until `release()`. */
export interface HeldLock {
  release(): Promise<void>;
}

const HOLDER = `
const sqlite3 = require(process.argv[1]);
const db = new sqlite3.Database(process.argv[2], (error) => {
  if (error) { console.error(error.message); process.exit(2); }
  db.configure('busyTimeout', 10000);
  db.run('BEGIN EXCLUSIVE', (error) => {
    if (error) { console.error(error.message); process.exit(3); }
    process.stdout.write('locked\\n');
  });
});
process.stdin.resume();
process.stdin.on('end', () => db.run('COMMIT', () => db.close(() => process.exit(0))));
`;

/**
 * Starts another process that opens the SQLite file and takes the write lock (as `sqlite3 vega.db`
 * with `BEGIN EXCLUSIVE;` would); resolves once the lock is held. `release()` commits, closes the
 * connection and waits for the process to exit.
 */
export async function holdExclusiveLock(file: string): Promise<HeldLock> {
  const child = spawn(process.execPath, ['-e', HOLDER, require.resolve('sqlite3'), file], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('locked')) resolve();
    });
    void exited.then(([code]) => reject(new Error(`the lock holder exited (${code}): ${stderr}`)));
  });
  let released: Promise<void> | undefined;
  return {
    release: () => {
      released ??= (async () => {
        child.stdin.end();
        await exited;
      })();
      return released;
    },
  };
}
