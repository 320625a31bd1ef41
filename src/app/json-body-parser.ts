import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { errorCodes } from 'fastify';
import { InvalidInputError } from '../common/errors/app-errors';
import { isOllamaPath } from '../common/errors/ollama-error';

/**
 * How deeply a request body may nest objects and arrays. The deepest body a route takes is an
 * OpenAI message's content part (5 levels); class-transformer and class-validator recurse once
 * per level, and a few thousand levels (an 18 KB body) overflow the stack.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * Whether `text` opens more than `max` objects and arrays inside one another. One pass over the
 * text, strings skipped with `indexOf` (about 0.2 ms a MB, a twentieth of `JSON.parse`). JSON that
 * deep takes more than 2 × `max` characters, so a shorter text (the usual chat request) is not
 * scanned. Malformed JSON is not judged here: the parser refuses it.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  if (text.length < 2 * max + 2) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = closingQuote(text, i);
      if (i < 0) return false;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/** The index of the quote that closes the string opened at `open`, or -1. */
function closingQuote(text: string, open: number): number {
  let at = open;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at < 0) return -1;
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
}

/**
 * Only `application/json` bodies are parsed (others get 415), by Fastify's own parser, which
 * refuses prototype-poisoning keys; a body nested deeper than MAX_JSON_DEPTH is refused with 400
 * before it is parsed. Ollama's routes (`/api/…`) read any body as JSON whatever its type, as
 * Ollama does: its documentation's `curl … -d '{…}'` sends `application/x-www-form-urlencoded`.
 */
export function registerJsonBodyParser(app: NestFastifyApplication, maxDepth = MAX_JSON_DEPTH): void {
  const fastify = app.getHttpAdapter().getInstance();
  const parse = fastify.getDefaultJsonParser('error', 'error');
  const parseJson = (request: Parameters<typeof parse>[0], body: string, done: (error: Error | null, body?: unknown) => void) => {
    if (nestsDeeperThan(body, maxDepth)) {
      done(new InvalidInputError(`Request body nests objects and arrays more than ${maxDepth} levels deep`), undefined);
      return;
    }
    parse(request, body, done);
  };
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, parseJson);
  fastify.addContentTypeParser('*', { parseAs: 'string' }, (request, body: string, done) => {
    if (isOllamaPath(request.url)) return parseJson(request, body, done);
    done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(request.headers['content-type'] ?? ''), undefined);
  });
}
