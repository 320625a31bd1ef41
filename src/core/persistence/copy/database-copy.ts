import { createHash } from 'node:crypto';
import { type CanonicalRow, COPIED_TABLES, type CopiedTable, type RowKey } from './copied-tables';
import type { CopyEndpoint } from './copy-endpoint';

/** The target holds rows that are not an earlier, interrupted copy of this source (or the sides cannot be used): nothing was written. */
export class CopyRefusedError extends Error {
  override readonly name = 'CopyRefusedError';
}

/** The copy ended but the target does not hold what the source does (counts or checksums differ). */
export class CopyMismatchError extends Error {
  override readonly name = 'CopyMismatchError';
}

export interface CopyProgress {
  phase: 'copy' | 'verify';
  /** Rows done in this phase, over all tables. */
  done: number;
  total: number;
}

export interface TableCopyReport {
  table: string;
  sourceRows: number;
  /** Rows the target held already from an interrupted copy (kept; the copy went on after them). */
  resumedAfter: number;
  copied: number;
  targetRows: number;
  /** MD5 over the rows' canonical text in key order, the same on both sides. */
  checksum: string;
}

export interface CopyOptions {
  /** Rows per INSERT (capped by the target engine's parameter limit). */
  batchSize: number;
  onProgress?: (progress: CopyProgress) => void;
}

/** What is known of a table before copying: where the target stands. */
interface TablePlan {
  table: CopiedTable;
  sourceRows: number;
  targetRows: number;
  lastKey: RowKey | undefined;
}

/**
 * Copies every table of `COPIED_TABLES` from one database to another, ids as they are, then
 * verifies the target by counts and a checksum per table computed the same way on both sides.
 * Resumable: a target holding the first rows of each table (in key order) exactly as the source
 * has them — what an interrupted copy leaves, since each batch is one statement — is continued
 * after its last key; a target holding anything else is refused before anything is written.
 */
export async function copyDatabase(source: CopyEndpoint, target: CopyEndpoint, options: CopyOptions): Promise<TableCopyReport[]> {
  const plans: TablePlan[] = [];
  for (const table of COPIED_TABLES) plans.push(await plan(source, target, table));
  const total = plans.reduce((sum, p) => sum + Math.max(0, p.sourceRows - p.targetRows), 0);
  const copied = new Map<string, number>();
  let done = 0;
  options.onProgress?.({ phase: 'copy', done, total });
  for (const p of plans) {
    const batch = Math.max(1, Math.min(options.batchSize, target.maxBatchRows(p.table)));
    let after = p.lastKey;
    let count = 0;
    for (;;) {
      const rows = await source.rowsAfter(p.table, after, batch);
      if (rows.length === 0) break;
      await target.insert(p.table, rows);
      after = rows[rows.length - 1][0] as RowKey;
      count += rows.length;
      done += rows.length;
      options.onProgress?.({ phase: 'copy', done, total });
    }
    await target.finishTable(p.table);
    copied.set(p.table.name, count);
  }
  const reports: TableCopyReport[] = [];
  const verifyTotal = plans.reduce((sum, p) => sum + p.sourceRows, 0);
  let verified = 0;
  const mismatches: string[] = [];
  for (const p of plans) {
    const [ours, theirs] = await Promise.all([
      digest(source, p.table, options.batchSize, (n) => options.onProgress?.({ phase: 'verify', done: (verified += n), total: verifyTotal })),
      digest(target, p.table, options.batchSize),
    ]);
    if (ours.rows !== theirs.rows) mismatches.push(`${p.table.name}: ${ours.rows} row(s) in the source, ${theirs.rows} in the target`);
    else if (ours.checksum !== theirs.checksum) mismatches.push(`${p.table.name}: the rows differ (checksum ${ours.checksum} ≠ ${theirs.checksum})`);
    reports.push({
      table: p.table.name,
      sourceRows: ours.rows,
      resumedAfter: p.targetRows,
      copied: copied.get(p.table.name) ?? 0,
      targetRows: theirs.rows,
      checksum: theirs.checksum,
    });
  }
  if (mismatches.length > 0) throw new CopyMismatchError(`the copy does not match its source: ${mismatches.join('; ')}`);
  return reports;
}

/** Where the target stands for one table; refuses a target whose rows are not a prefix of the source's. */
async function plan(source: CopyEndpoint, target: CopyEndpoint, table: CopiedTable): Promise<TablePlan> {
  const [sourceRows, targetRows, lastKey] = await Promise.all([source.count(table), target.count(table), target.lastKey(table)]);
  if (lastKey === undefined) return { table, sourceRows, targetRows, lastKey };
  const [upTo, ours, theirs] = await Promise.all([source.countUpTo(table, lastKey), source.row(table, lastKey), target.row(table, lastKey)]);
  if (upTo !== targetRows || !sameRow(ours, theirs)) {
    throw new CopyRefusedError(
      `${target.label} already holds other rows: ${table.name} has ${targetRows} row(s) that are not the first rows of ${source.label}'s; copy into an empty database (an interrupted copy of the same source is continued)`,
    );
  }
  return { table, sourceRows, targetRows, lastKey };
}

function sameRow(a: CanonicalRow | undefined, b: CanonicalRow | undefined): boolean {
  return a !== undefined && b !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

/** The table's row count and the MD5 of its rows' canonical text (one JSON array a line), in key order. */
async function digest(side: CopyEndpoint, table: CopiedTable, batch: number, onRows?: (n: number) => void): Promise<{ rows: number; checksum: string }> {
  const hash = createHash('md5');
  let rows = 0;
  let after: RowKey | undefined;
  for (;;) {
    const page = await side.rowsAfter(table, after, batch);
    if (page.length === 0) break;
    for (const row of page) hash.update(`${JSON.stringify(row)}\n`);
    rows += page.length;
    after = page[page.length - 1][0] as RowKey;
    onRows?.(page.length);
  }
  return { rows, checksum: hash.digest('hex') };
}
