import { readFileSync } from 'node:fs';
import type { OutputFormat, ThinkSetting } from '../../core/llm/llm-backend';
import { checkChatFormat, THINK_LEVELS } from '../../modules/chat/dto/chat-fields.validator';
import { UsageError } from '../cli-errors';

/** `--think-level low|medium|high|max` (the same levels as the `think` field of POST /chat). */
export function parseThinkLevel(value: string): ThinkSetting {
  if (!(THINK_LEVELS as readonly string[]).includes(value)) {
    throw new UsageError(`--think-level must be one of ${THINK_LEVELS.join(', ')} (got "${value}")`);
  }
  return value as ThinkSetting;
}

/**
 * `--format json`, a JSON Schema written inline (`'{"type":"object",…}'`), or the path of a file
 * holding one. The schema is checked as POST /chat checks its `format`.
 */
export function parseFormat(value: string): OutputFormat {
  if (value === 'json') return 'json';
  const inline = value.trimStart().startsWith('{');
  let text = value;
  if (!inline) {
    try {
      text = readFileSync(value, 'utf8');
    } catch (error) {
      throw new UsageError(`--format must be json, a JSON Schema, or a file holding one; cannot read ${value}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--format: ${inline ? 'the schema' : value} is not JSON (${(error as Error).message})`);
  }
  const problem = checkChatFormat(schema);
  if (problem) throw new UsageError(`--format: ${problem.replace(/^format /, 'the value ')}`);
  return { schema: schema as Record<string, unknown> };
}
