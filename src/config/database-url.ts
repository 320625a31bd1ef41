import { resolve } from 'node:path';

/** `DATABASE_URL` of a PostgreSQL server: `postgres://` or `postgresql://`, with a host. */
export function isPostgresUrl(url: string): boolean {
  if (!/^postgres(ql)?:\/\//i.test(url)) return false;
  try {
    return new URL(url).hostname !== '';
  } catch {
    return false;
  }
}

/** A database as `DATABASE_URL` names it: a SQLite file (`sqlite:<path>`, resolved) or a PostgreSQL server. */
export type DatabaseLocation = { type: 'sqlite'; path: string } | { type: 'postgres'; url: string };

/** Where `sqlite:<path>` or `postgres://…` points; undefined for anything else. */
export function parseDatabaseUrl(url: string): DatabaseLocation | undefined {
  if (isPostgresUrl(url)) return { type: 'postgres', url };
  if (!url.startsWith('sqlite:')) return undefined;
  return { type: 'sqlite', path: resolve(url.slice('sqlite:'.length)) };
}

/**
 * The URL as it may be shown (logs, errors, `/admin/status`, `vega db info`): the password
 * replaced by `***`. A URL that does not parse is shown by its scheme alone.
 */
export function redactDatabaseUrl(url: string): string {
  if (!/^postgres(ql)?:/i.test(url)) return url;
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    for (const name of [...parsed.searchParams.keys()]) {
      if (/pass/i.test(name)) parsed.searchParams.set(name, '***');
    }
    return parsed.toString();
  } catch {
    return `${url.slice(0, url.indexOf(':') + 1)}//…`;
  }
}
