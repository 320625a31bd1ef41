import { readFileSync, statSync } from 'node:fs';
import type { OutputFormat, ThinkSetting } from '../../core/llm/llm-backend';
import type { ImageSource } from '../../modules/chat/chat.service';
import { CHAT_MAX_IMAGES, checkChatFormat, THINK_LEVELS } from '../../modules/chat/dto/chat-fields.validator';
import { UsageError } from '../cli-errors';
import { parseText } from './option-parsers';

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

/** Collects the repeated `--image FILE`. */
export function collectImage(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), parseText(value, '--image')];
}

/**
 * The `--image` files as base64, each named `--image <file>` so the resolver's refusal (not an
 * image, a type it does not take) names the file. A missing, unreadable or oversized file is
 * refused before anything is read into memory.
 */
export function readImageFiles(files: readonly string[], maxBytes: number): ImageSource[] {
  if (files.length > CHAT_MAX_IMAGES) throw new UsageError(`--image may be given at most ${CHAT_MAX_IMAGES} times (got ${files.length})`);
  return files.map((file) => {
    const field = `--image ${file}`;
    let size: number;
    try {
      const stat = statSync(file);
      if (!stat.isFile()) throw new UsageError(`${field}: not a file`);
      size = stat.size;
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw new UsageError(`${field}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    if (size > maxBytes) throw new UsageError(`${field}: the image is ${size} bytes, more than the ${maxBytes} bytes allowed (IMAGE_MAX_BYTES)`);
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      throw new UsageError(`${field}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    return { source: bytes.toString('base64'), field };
  });
}
