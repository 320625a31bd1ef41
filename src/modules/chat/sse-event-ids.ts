import { randomHex } from '../../common/ids/random-hex';

/** `<stream>:<seq>`, and `:done` or `:error` after the sequence on the frame that ends the exchange. */
const EVENT_ID = /^[0-9a-f]{16}:\d+(?::done|:error)?$/;

/**
 * The `id:` of each event of one chat stream: a random stream id and a sequence number, and on
 * the final `done` or `error` frame a suffix that says the exchange is over. An `EventSource`
 * reconnects after every stream ends, sending the last id as `Last-Event-ID`; without ids it
 * sent none and every reconnect ran the prompt again.
 */
export class SseEventIds {
  private readonly stream = randomHex(8);
  private seq = 0;

  next(): string {
    return `${this.stream}:${++this.seq}`;
  }

  final(kind: 'done' | 'error'): string {
    return `${this.stream}:${++this.seq}:${kind}`;
  }

  /**
   * Whether a `Last-Event-ID` names an event of a chat stream. The exchange behind it is over
   * whatever its last id was: it finished (`done`, `error`), or its connection dropped and it was
   * stored as `aborted`. Nothing is replayed, so a reconnect is told to stop (204), never answered
   * by running the prompt again.
   */
  static isFromChatStream(lastEventId: string | string[] | undefined): boolean {
    return typeof lastEventId === 'string' && EVENT_ID.test(lastEventId);
  }
}
