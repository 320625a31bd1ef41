import { existsSync } from 'node:fs';
import { AppConfig, loadConfig } from './app-config';

/**
 * The configuration both entry points (HTTP and CLI) start from: `.env` in the working
 * directory when present (variables already set win), then the process environment.
 * Throws `ConfigError` for an invalid value.
 */
export function loadEnvironmentConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  if (existsSync('.env')) process.loadEnvFile('.env');
  return loadConfig(env);
}
