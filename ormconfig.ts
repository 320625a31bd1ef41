import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { loadConfig } from './src/config/app-config';
import { buildDataSourceOptions } from './src/core/persistence/data-source-options';

// The data source for the TypeORM CLI (`npm run migration:show`, `migration:revert`). The app
// builds the same options from the same function and runs pending migrations at start.
if (existsSync('.env')) process.loadEnvFile('.env');

export default new DataSource(buildDataSourceOptions(loadConfig(process.env)));
