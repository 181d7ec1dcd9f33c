/**
 * Plain-text tables and key/value blocks for terminal output; `--json`
 * callers print the broker's document instead.
 *
 * @example
 *   process.stdout.write(table(rows, [{ key: 'id', title: 'ID' }, { key: 'host', title: 'HOST' }]));
 */

export interface Column<T> {
  title: string;
  value: (row: T) => unknown;
  /** Longer cells are cut with an ellipsis. */
  max?: number;
}

export function cell(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  if (Array.isArray(value)) return value.length ? value.map(cell).join(',') : '-';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value).replace(/\s+/g, ' ');
}

function cut(text: string, max: number | undefined): string {
  return max && text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function table<T>(rows: T[], columns: Column<T>[], empty = '(none)'): string {
  if (rows.length === 0) return `${empty}\n`;
  const cells = rows.map((r) => columns.map((c) => cut(cell(c.value(r)), c.max)));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (parts: string[]) => parts.map((p, i) => (i === parts.length - 1 ? p : p.padEnd(widths[i] ?? 0))).join('  ');
  return `${[line(columns.map((c) => c.title)), ...cells.map(line)].join('\n')}\n`;
}

/** `label  value` lines, labels aligned. */
export function fields(pairs: Array<[string, unknown]>, indent = ''): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return `${pairs.map(([k, v]) => `${indent}${k.padEnd(width)}  ${cell(v)}`).join('\n')}\n`;
}

/** "in 59 min", "in 2 h 5 min", "expired". */
export function timeLeft(iso: string, now = Date.now()): string {
  const sec = Math.round((Date.parse(iso) - now) / 1000);
  if (Number.isNaN(sec)) return '';
  if (sec <= 0) return 'expired';
  if (sec < 120) return `in ${sec} s`;
  const min = Math.round(sec / 60);
  return min < 120 ? `in ${min} min` : `in ${Math.floor(min / 60)} h ${min % 60} min`;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
