import { Palette, paletteFor } from './colour';

/**
 * Where commands write: results on stdout (plain when piped), everything for the person
 * (progress, hints) on stderr. `width` is the terminal's, or undefined when stdout is piped.
 */
export class Output {
  readonly colour: Palette = paletteFor(process.stdout);
  readonly errColour: Palette = paletteFor(process.stderr);

  get width(): number | undefined {
    return process.stdout.isTTY ? process.stdout.columns || 80 : undefined;
  }

  get interactive(): boolean {
    return process.stderr.isTTY === true;
  }

  write(text: string): void {
    process.stdout.write(text);
  }

  line(text = ''): void {
    process.stdout.write(`${text}\n`);
  }

  json(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A hint for the person at the terminal (stderr); dropped when stderr is not a terminal. */
  note(text: string): void {
    if (this.interactive) process.stderr.write(`${this.errColour.dim(text)}\n`);
  }
}

/** `1234567` → `1.2 MB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** `YYYY-MM-DD HH:MM` (UTC), for tables. */
export const shortTs = (at: Date): string => at.toISOString().replace('T', ' ').slice(0, 16);
