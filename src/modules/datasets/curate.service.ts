import { Injectable } from '@nestjs/common';
import { maskPiiWithStats, type PiiKind } from '../../common/pii/pii-masker';
import type { ConversationRecord } from '../../core/persistence/conversation-history.repository';
import { HistoryService, type HistoryQuery } from '../history/history.service';
import { singleTurn, type DatasetFormat } from './dataset-example';
import { formatExample } from './dataset-formats';
import { PromptDeduper } from './prompt-dedupe';
import { SkipGroup, SkipTally } from './skip-tally';

/** Why a stored exchange is not in the curated dataset (beyond the filters, which select the rows read). */
export const CURATE_SKIP_REASONS = ['not-chat', 'status-error', 'status-aborted', 'status-cached', 'empty', 'duplicate'] as const;
export type CurateSkipReason = (typeof CURATE_SKIP_REASONS)[number];

/** What `vega learn curate` reports (`--json` prints it as is). */
export interface CurateSummary {
  format: DatasetFormat;
  /** Rows that passed the filters. */
  rows_read: number;
  /** Output lines (one per kept exchange). */
  records_written: number;
  rows_skipped: number;
  /** By reason, most frequent first, with the first few conversation ids (`#42`). */
  skipped_rows: SkipGroup[];
  /** Personal data and secrets replaced in the written records, by kind. */
  pii_masked: Partial<Record<PiiKind, number>>;
}

export interface CuratedDataset {
  /** One JSON text per output record (no newline), produced as it is consumed. */
  lines: AsyncGenerator<string>;
  /** The counts so far; complete once `lines` is exhausted. */
  summary(): CurateSummary;
}

/**
 * `vega learn curate` and `GET /admin/export?format=`: the stored exchanges that pass the
 * history filters, turned into a training set.
 *
 * - Only chats (`kind` chat: not embedding calls nor raw completions), and only `ok` ones: `error`
 *   and `aborted` ones hold no complete answer, and a `cached` one repeats an answer whose `ok`
 *   original is stored too.
 * - PII is always masked (the API's masker, whatever `PII_MASKING` says), in the prompt and the
 *   response, so a dataset never carries what the database may still hold.
 * - Exact and near-duplicate prompts (see `normalisePrompt`, compared after masking) are kept
 *   once: the rows are read newest first (highest id, i.e. most recently stored), so the newest
 *   exchange of each group that passes the filters and is `ok` is the one kept.
 * - Each exchange is a single-turn example of its prompt and final answer; the whole request
 *   (system prompt, session memory, tool calls) is not used.
 *
 * Memory: rows are read in batches as the consumer asks for them; the dedupe set holds a hash
 * per distinct prompt.
 */
@Injectable()
export class CurateService {
  constructor(private readonly history: HistoryService) {}

  /** Checks the filters now (an `InvalidInputError` before anything is read); reads as `lines` is consumed. */
  curate(query: HistoryQuery, format: DatasetFormat, onProgress?: (rowsRead: number) => void): CuratedDataset {
    const rows = this.history.export(query);
    const skipped = new SkipTally();
    const deduper = new PromptDeduper();
    const masked: Partial<Record<PiiKind, number>> = {};
    let read = 0;
    let written = 0;
    const count = (counts: Partial<Record<PiiKind, number>>) => {
      for (const [kind, n] of Object.entries(counts) as [PiiKind, number][]) masked[kind] = (masked[kind] ?? 0) + n;
    };

    async function* lines(): AsyncGenerator<string> {
      for await (const row of rows) {
        read += 1;
        if (read % 1000 === 0) onProgress?.(read);
        const reason = skipReason(row);
        if (reason) {
          skipped.add(reason, `#${row.id}`);
          continue;
        }
        const prompt = maskPiiWithStats(row.prompt);
        if (!deduper.firstSeen(prompt.text)) {
          skipped.add('duplicate', `#${row.id}`);
          continue;
        }
        const response = maskPiiWithStats(row.response);
        count(prompt.counts);
        count(response.counts);
        for (const record of formatExample(singleTurn(prompt.text, response.text), format)) {
          written += 1;
          yield JSON.stringify(record);
        }
      }
      onProgress?.(read);
    }

    return {
      lines: lines(),
      summary: () => ({
        format,
        rows_read: read,
        records_written: written,
        rows_skipped: skipped.total,
        skipped_rows: skipped.list(),
        pii_masked: { ...masked },
      }),
    };
  }
}

function skipReason(row: ConversationRecord): CurateSkipReason | undefined {
  // An embedding call's prompt and response only describe it; a raw completion is text to go on, not an answer.
  if (row.kind !== 'chat') return 'not-chat';
  if (row.status !== 'ok') return `status-${row.status}`;
  if (row.prompt.trim() === '' || row.response.trim() === '') return 'empty';
  return undefined;
}
