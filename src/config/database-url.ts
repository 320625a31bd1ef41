/** `DATABASE_URL` of a PostgreSQL server: `postgres://` or `postgresql://`, with a host. */
export function isPostgresUrl(url: string): boolean {
  if (!/^postgres(ql)?:\/\//i.test(url)) return false;
  try {
    return new URL(url).hostname !== '';
  } catch {
    return false;
  }
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
