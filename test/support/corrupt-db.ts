import { openSync, writeSync, closeSync } from 'node:fs';
import { execDb } from './seed';
import { queryDb } from './sqlite';

/** Inserts `count` exchanges with a few hundred bytes of text each, in one statement. */
export async function seedMany(file: string, count: number): Promise<void> {
  await execDb(
    file,
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
     INSERT INTO conversations (prompt, response, source, session_id, model, status)
     SELECT 'prompt ' || i || ' ' || hex(randomblob(100)), 'response ' || i || ' ' || hex(randomblob(200)), 'api', 's' || (i % 10), 'mistral', 'ok' FROM n`,
    [count],
  );
}

/**
 * Overwrites `pages` consecutive pages with zeros in the middle of the `conversations` table's
 * leaf pages (found with `dbstat`), as a failing disk or a stray write would. The database must
 * be closed (no WAL left) when this runs.
 */
export async function zeroTablePages(file: string, pages: number): Promise<number[]> {
  const [{ page_size: pageSize }] = await queryDb<{ page_size: number }>(file, 'PRAGMA page_size');
  const leaves = await queryDb<{ pageno: number }>(file, `SELECT pageno FROM dbstat WHERE name = 'conversations' AND pagetype = 'leaf' ORDER BY pageno`);
  const start = Math.floor(leaves.length / 2) - Math.floor(pages / 2);
  const chosen = leaves.slice(start, start + pages).map((row) => row.pageno);
  const fd = openSync(file, 'r+');
  try {
    for (const page of chosen) writeSync(fd, Buffer.alloc(pageSize), 0, pageSize, (page - 1) * pageSize);
  } finally {
    closeSync(fd);
  }
  return chosen;
}
