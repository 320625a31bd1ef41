import type { ConversationRecord, SearchHit } from '../../core/persistence/conversation-history.repository';
import { SNIPPET_CLOSE, SNIPPET_OPEN } from '../../core/persistence/conversation-history.repository';
import { Output, shortTs } from '../output/output';
import { Column, renderTable } from '../output/table';

/** History rows as an aligned table: the prompt column takes what the terminal has left. */
export function printConversationTable(out: Output, rows: (ConversationRecord | SearchHit)[]): void {
  const c = out.colour;
  const columns: Column<ConversationRecord | SearchHit>[] = [
    { header: 'ID', value: (row) => String(row.id), align: 'right' },
    { header: 'TIME (UTC)', value: (row) => shortTs(row.ts) },
    { header: 'SOURCE', value: (row) => row.source },
    { header: 'SESSION', value: (row) => row.sessionId ?? '-' },
    { header: 'STATUS', value: (row) => (row.status === 'ok' ? row.status : c.yellow(row.status)) },
    { header: 'RATING', value: (row) => (row.rating === null ? '' : String(row.rating)), align: 'right' },
    { header: 'PROMPT', value: (row) => ('snippet' in row ? highlight(row.snippet, c.bold) : row.prompt), flex: true },
  ];
  out.write(renderTable(rows, columns, { width: out.width, header: c.dim }));
}

/** A session, as a transcript: each prompt and its answer in turn. */
export function printTranscript(out: Output, rows: ConversationRecord[]): void {
  const c = out.colour;
  for (const row of rows) {
    // A fallback answered: say so (the model asked for was not the one that wrote this).
    const fallback = row.servedModel !== null && row.servedModel !== row.model ? ` · ${servedBy(row)}` : '';
    out.line(c.dim(`#${row.id} · ${shortTs(row.ts)} · ${row.source}${row.status === 'ok' ? '' : ` · ${row.status}`}${fallback}`));
    out.line(`${c.bold(c.cyan('you'))}  ${row.prompt}`);
    out.line(`${c.bold(c.green('vega'))} ${row.response}`);
    out.line();
  }
}

/** One exchange with its feedback fields. */
export function printConversation(out: Output, row: ConversationRecord): void {
  const fields: [string, string][] = [
    ['id', String(row.id)],
    ['time', `${shortTs(row.ts)} UTC`],
    ['session', row.sessionId ?? '-'],
    ['model', servedBy(row)],
    ['rating', row.rating === null ? '-' : String(row.rating)],
    ['tags', row.tags ?? '-'],
    ['notes', row.notes ?? '-'],
    ['reviewed', row.reviewed ? 'yes' : 'no'],
  ];
  const width = Math.max(...fields.map(([name]) => name.length));
  for (const [name, value] of fields) out.line(`${out.colour.dim(name.padEnd(width))}  ${value}`);
}

/** The model asked for, and which model (a fallback, possibly) and target answered it. */
function servedBy(row: ConversationRecord): string {
  const asked = row.model ?? '-';
  if (row.servedModel === null) return asked;
  const served = row.servedModel === row.model ? '' : ` → ${row.servedModel}`;
  return `${asked}${served}${row.target ? ` on ${row.target}` : ' (cache)'}`;
}

/** The matches of a snippet marked with `mark` (bold on a terminal, plain otherwise). */
function highlight(snippet: string, mark: (text: string) => string): string {
  return snippet.replace(new RegExp(`${SNIPPET_OPEN}(.*?)${SNIPPET_CLOSE}`, 'gs'), (_, text: string) => mark(text));
}
