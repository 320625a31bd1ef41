import { StringDecoder } from 'node:string_decoder';

/**
 * Splits a byte stream into parsed JSON lines as bytes arrive. Multi-byte characters cut
 * across chunks are reassembled by the decoder; a line that is not JSON raises
 * `MalformedLineError` with the offending text (shortened).
 */
export async function* ndjson(source: AsyncIterable<Buffer | string>): AsyncGenerator<unknown> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of source) {
    pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line.trim() !== '') yield parseLine(line);
      newline = pending.indexOf('\n');
    }
  }
  pending += decoder.end();
  if (pending.trim() !== '') yield parseLine(pending);
}

export class MalformedLineError extends Error {
  override readonly name = 'MalformedLineError';
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new MalformedLineError(`Malformed line from the backend: ${line.slice(0, 120)}`);
  }
}
