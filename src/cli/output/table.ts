import { visibleLength } from './colour';

export interface Column<T> {
  header: string;
  value: (row: T) => string;
  align?: 'left' | 'right';
  /** This column takes what is left of the width, cut with "…". At most one column. */
  flex?: boolean;
}

/**
 * Aligned columns separated by two spaces. With a `width` (a terminal), the flex column is
 * cut to fit; without one (piped), nothing is cut.
 */
export function renderTable<T>(rows: T[], columns: Column<T>[], options: { width?: number; header?: (text: string) => string } = {}): string {
  const cells = rows.map((row) => columns.map((column) => oneLine(column.value(row))));
  const widths = columns.map((column, i) => Math.max(visibleLength(column.header), ...cells.map((line) => visibleLength(line[i]))));
  const flex = columns.findIndex((column) => column.flex);
  if (options.width !== undefined && flex >= 0) {
    const fixed = widths.reduce((sum, width, i) => (i === flex ? sum : sum + width), 0) + 2 * (columns.length - 1);
    widths[flex] = Math.max(visibleLength(columns[flex].header), Math.min(widths[flex], options.width - fixed));
  }
  const line = (values: string[]) =>
    values
      .map((value, i) => {
        const text = i === flex ? cut(value, widths[i]) : value;
        const pad = ' '.repeat(Math.max(0, widths[i] - visibleLength(text)));
        if (columns[i].align === 'right') return pad + text;
        return i === values.length - 1 ? text : text + pad;
      })
      .join('  ');
  const header = line(columns.map((column) => column.header));
  return [options.header ? options.header(header) : header, ...cells.map(line)].join('\n') + '\n';
}

/** Newlines and tabs as spaces: a table row stays one line. */
export const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** Cuts to `width` characters with "…" (plain text only). */
export function cut(text: string, width: number): string {
  if (text.length <= width) return text;
  return width <= 1 ? text.slice(0, width) : `${text.slice(0, width - 1)}…`;
}
