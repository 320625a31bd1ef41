import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';

/**
 * Writes lines to a stream, waiting for `drain` when its buffer is full, so a producer that is
 * faster than the disk (or a slow pipe) never piles the whole output up in memory.
 */
export class LineSink {
  constructor(private readonly stream: Writable) {}

  /** A new file (never an existing one: `wx`), created private to the user; resolves once it is open. */
  static async createFile(path: string): Promise<{ sink: LineSink; close: () => Promise<void> }> {
    const stream = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    await once(stream, 'open');
    return {
      sink: new LineSink(stream),
      close: async () => {
        stream.end();
        await once(stream, 'finish');
      },
    };
  }

  async write(line: string): Promise<void> {
    if (!this.stream.write(`${line}\n`)) await once(this.stream, 'drain');
  }
}
