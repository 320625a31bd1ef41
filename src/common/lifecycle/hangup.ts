import { isatty } from 'node:tty';

/** What a SIGHUP asks of the server: to stop (its terminal went away) or to read the backends file again. */
export type HangupMeaning = 'shutdown' | 'reload';

/**
 * A server with a controlling terminal (stdin or stdout a TTY: `vega serve` or `npm start` in a
 * shell) gets SIGHUP when that terminal closes, and stops gracefully then, as on SIGTERM, as any
 * foreground program does. Without one (systemd, containers, `nohup`) nothing hangs up on it, and
 * SIGHUP keeps the daemons' meaning: reload (`systemctl reload` sends it).
 */
export function hangupMeaning(isTerminal: (fd: number) => boolean = isatty): HangupMeaning {
  return isTerminal(0) || isTerminal(1) ? 'shutdown' : 'reload';
}
