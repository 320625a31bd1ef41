import type { Provider } from '@nestjs/common';
import type { DataSource, DataSourceOptions } from 'typeorm';

/**
 * What a database engine brings to `PersistenceModule.forRoot`: the adapter bound to each
 * persistence port, the background work only the server runs, and how its data source is opened.
 */
export interface PersistenceDialect {
  /** `{ provide: Port, useClass: Adapter }` for every port (see `PERSISTENCE_PORTS`), plus what the adapters need. */
  readonly adapters: Provider[];
  /** Started by the HTTP server alone (the CLI's short runs leave them out). */
  readonly serverTasks: Provider[];
  /** Initialises the data source (migrations included) and applies the engine's session settings. */
  open(options: DataSourceOptions): Promise<DataSource>;
  /** Runs the pending migrations (`vega db migrate`, for `MIGRATIONS_RUN=false`); returns their names. */
  migrate(dataSource: DataSource): Promise<string[]>;
}
