/**
 * The one in-memory shape every loader produces and every output format is written from: an
 * optional system prompt, then turns alternating user → assistant, ending with the assistant.
 */
export type TurnRole = 'user' | 'assistant';

export interface Turn {
  role: TurnRole;
  content: string;
}

export interface DatasetExample {
  system?: string;
  turns: Turn[];
}

/** Why a record (a line, an array element, a CSV row, a Q/A pair) was left out. */
export const RECORD_SKIP_REASONS = ['invalid-json', 'unrecognised-shape', 'missing-field', 'bad-turns', 'incomplete-pair', 'malformed-csv'] as const;
export type RecordSkipReason = (typeof RECORD_SKIP_REASONS)[number];

/** Why a whole file (or directory entry) was left out. */
export const FILE_SKIP_REASONS = [
  'symlink',
  'hidden',
  'unsupported-type',
  'not-a-regular-file',
  'unreadable',
  'invalid-json',
  'unrecognised-shape',
  'missing-columns',
  'too-large',
  'no-records',
] as const;
export type FileSkipReason = (typeof FILE_SKIP_REASONS)[number];

/** The output shapes of `vega dataset build` and `vega learn curate`. */
export const DATASET_FORMATS = ['chat', 'alpaca', 'sharegpt', 'prompt-response'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

/** A single exchange as an example. */
export function singleTurn(prompt: string, response: string, system?: string): DatasetExample {
  return { ...(system ? { system } : {}), turns: [{ role: 'user', content: prompt }, { role: 'assistant', content: response }] };
}
