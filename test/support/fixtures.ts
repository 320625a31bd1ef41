import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A recorded-shape fixture from test/fixtures/. */
export function fixture(path: string): string {
  return readFileSync(join(__dirname, '..', 'fixtures', path), 'utf8');
}
