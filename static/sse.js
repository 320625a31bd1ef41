// Server-Sent Events over fetch (EventSource cannot send the API-key header), parsed by the rules
// of the HTML standard: lines end in CRLF, LF or CR; `:` starts a comment; `event` and `data` are
// used, `id`, `retry` and unknown fields ignored; a blank line dispatches; several data lines join with "\n".

export class SseParser {
  constructor(onEvent, onComment = () => {}) {
    this.onEvent = onEvent;
    this.onComment = onComment;
    this.buffer = '';
    this.pendingCR = false;
    this.reset();
  }

  reset() {
    this.type = '';
    this.data = [];
  }

  push(chunk) {
    let text = chunk;
    // A CR at the end of the previous chunk already ended a line; skip the LF that completes it.
    if (this.pendingCR && text.startsWith('\n')) text = text.slice(1);
    this.pendingCR = false;
    this.buffer += text;
    const lines = this.buffer.split(/\r\n|\r|\n/);
    this.buffer = lines.pop();
    if (this.buffer === '' && text.endsWith('\r')) this.pendingCR = true;
    for (const line of lines) this.line(line);
  }

  line(line) {
    if (line === '') {
      if (this.data.length > 0) this.onEvent({ event: this.type || 'message', data: this.data.join('\n') });
      this.reset();
      return;
    }
    if (line.startsWith(':')) {
      this.onComment(line.slice(1).trimStart());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.type = value;
    else if (field === 'data') this.data.push(value);
  }
}

/** Yields the events of a `text/event-stream` response as they arrive. */
export async function* readSse(response, signal) {
  // A reply without a body (204: the stream asked for has already finished) has no events.
  if (!response.body) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const queue = [];
  const parser = new SseParser((event) => queue.push(event));
  const cancel = () => reader.cancel().catch(() => {});
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(value);
      while (queue.length > 0) yield queue.shift();
    }
    // The stream ended: a final event without its blank line is dropped, as the standard says.
  } finally {
    signal?.removeEventListener('abort', cancel);
    try {
      reader.releaseLock();
    } catch {
      // a read was still pending: the stream is being torn down anyway
    }
  }
}
