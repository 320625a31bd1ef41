import 'reflect-metadata';
import { AppConfig, ConfigError } from './config/app-config';
import { loadEnvironmentConfig } from './config/load-environment';
import { serve } from './app/serve';

async function bootstrap(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadEnvironmentConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  await serve(config);
}

bootstrap().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`Vega failed to start: ${message}\n`);
  process.exit(1);
});
