import { PgInitialSchema1860000000000 } from './1860000000000-initial-schema';
import { PgDropTsIndex1870000000000 } from './1870000000000-drop-ts-index';

/** PostgreSQL's migrations, listed explicitly (not globbed) so they load the same from `src/` and `dist/`. */
export const PG_MIGRATIONS = [PgInitialSchema1860000000000, PgDropTsIndex1870000000000];

/** Their names, in order, as the `migrations` table records them. */
export const PG_MIGRATION_NAMES = PG_MIGRATIONS.map((Migration) => new Migration().name);
