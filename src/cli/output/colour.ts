/**
 * Colour only where a person reads it: on a terminal, unless `NO_COLOR` is set (non-empty,
 * https://no-color.org); `FORCE_COLOR` turns it on anywhere (`0`/`false` turns it off).
 * Decided per stream: `vega history | less` keeps colour off on stdout and on on stderr.
 */
export function colourEnabled(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return !['0', 'false'].includes(force.toLowerCase());
  return stream.isTTY === true && env.TERM !== 'dumb';
}

export interface Palette {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

const wrap = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`;
const identity = (text: string) => text;

const ON: Palette = {
  bold: wrap(1, 22),
  dim: wrap(2, 22),
  red: wrap(31, 39),
  green: wrap(32, 39),
  yellow: wrap(33, 39),
  cyan: wrap(36, 39),
};
const OFF: Palette = { bold: identity, dim: identity, red: identity, green: identity, yellow: identity, cyan: identity };

export function paletteFor(stream: NodeJS.WriteStream): Palette {
  return colourEnabled(stream) ? ON : OFF;
}

/** The visible width of a string: without escape sequences. */
export const visibleLength = (text: string): number => text.replace(/\x1b\[[0-9;]*m/g, '').length;
