import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const DEBIAN_ROOT = '/usr/lib/postgresql';

/**
 * A PostgreSQL program (`pg_dump`, `postgres`, `initdb`…): on the PATH, else in the newest
 * Debian install (`/usr/lib/postgresql/<major>/bin`, which Debian leaves off the PATH for the
 * server programs). Undefined when neither has it.
 */
export function findPostgresTool(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  if (!existsSync(DEBIAN_ROOT)) return undefined;
  const majors = readdirSync(DEBIAN_ROOT)
    .filter((major) => existsSync(join(DEBIAN_ROOT, major, 'bin', name)))
    .sort((a, b) => Number(b) - Number(a));
  return majors.length > 0 ? join(DEBIAN_ROOT, majors[0], 'bin', name) : undefined;
}

/**
 * The URL without its password, and the password apart: a program gets the password in its
 * environment (`PGPASSWORD`), never on its command line, where `ps` would show it.
 */
export function splitPassword(url: string): { url: string; password?: string } {
  const parsed = new URL(url);
  const password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  parsed.password = '';
  return { url: parsed.toString(), password };
}
