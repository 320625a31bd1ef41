const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** What a spinner or a progress bar writes to: stderr, so stdout stays the command's output. */
type Terminal = Pick<NodeJS.WriteStream, 'isTTY' | 'write' | 'columns'>;

/**
 * A spinner on stderr while waiting (for the first token). Only on a terminal: piped or
 * redirected, it writes nothing.
 */
export class Spinner {
  private timer?: NodeJS.Timeout;
  private frame = 0;

  constructor(
    private readonly label: string,
    private readonly stream: Terminal = process.stderr,
  ) {}

  start(): this {
    if (!this.stream.isTTY || this.timer) return this;
    this.draw();
    this.timer = setInterval(() => this.draw(), 80);
    this.timer.unref();
    return this;
  }

  /** Clears the spinner's line; safe to call more than once. */
  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.stream.write('\r\x1b[2K');
  }

  private draw(): void {
    this.stream.write(`\r\x1b[2K${FRAMES[this.frame++ % FRAMES.length]} ${this.label}`);
  }
}

/** A progress bar on stderr (terminal only), redrawn at most 10 times a second. */
export class ProgressBar {
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly format: (n: number) => string = (n) => n.toLocaleString('en-US'),
    private readonly stream: Terminal = process.stderr,
  ) {}

  update(done: number, force = false): void {
    if (!this.stream.isTTY) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.drawn = true;
    const counts = this.total > 0 ? `${this.format(done)}/${this.format(this.total)}` : this.format(done);
    if (this.total <= 0) {
      this.stream.write(`\r\x1b[2K${this.label} ${counts}`);
      return;
    }
    const ratio = Math.min(1, done / this.total);
    const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - this.label.length - counts.length - 12));
    const full = Math.round(ratio * width);
    this.stream.write(`\r\x1b[2K${this.label} [${'#'.repeat(full)}${'-'.repeat(width - full)}] ${Math.floor(ratio * 100)}% ${counts}`);
  }

  /** Clears the bar's line. */
  finish(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}
