import { PgInitialSchema1860000000000 } from './1860000000000-initial-schema';

/** PostgreSQL's migrations, listed explicitly (not globbed) so they load the same from `src/` and `dist/`. */
export const PG_MIGRATIONS = [PgInitialSchema1860000000000];
