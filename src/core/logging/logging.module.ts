import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { AppLogger } from './app-logger';
import { NestPinoLogger } from './nest-pino.logger';

/** The JSON logger of the HTTP app (request lines and Nest's own lines). */
@Global()
@Module({
  providers: [{ provide: AppLogger, inject: [AppConfig], useFactory: (config: AppConfig) => new AppLogger(config) }, NestPinoLogger],
  exports: [AppLogger, NestPinoLogger],
})
export class LoggingModule {}
