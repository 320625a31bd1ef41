import type { AppConfig } from '../../config/app-config';

/** `config.database`: which database (`DATABASE_URL`) and how to use it. */
export type DatabaseSettings = AppConfig['database'];

/** The database engines Vega can store in; `DATABASE_URL` chooses one. */
export type DatabaseDialect = DatabaseSettings['type'];
