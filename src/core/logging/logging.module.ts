import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppLogger } from './app-logger';
import { NestPinoLogger } from './nest-pino.logger';

/**
 * The JSON logger of the HTTP app (request lines and Nest's own lines). The instance is made
 * before Nest starts (`createHttpApp`), so that Nest's first line, and a failed start, are
 * written by it too.
 */
@Global()
@Module({})
export class LoggingModule {
  static forRoot(logger: AppLogger): DynamicModule {
    return {
      module: LoggingModule,
      providers: [{ provide: AppLogger, useValue: logger }, NestPinoLogger],
      exports: [AppLogger, NestPinoLogger],
    };
  }
}
