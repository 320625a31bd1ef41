import { Module } from '@nestjs/common';
import { Command, CommandRunner } from 'nest-commander';
import { AppConfig } from '../../config/app-config';
import { commandMeta } from '../catalogue';

/** `vega serve`: the HTTP API, started by the same code as `npm start` (`src/app/serve.ts`). */
@Command(commandMeta('serve'))
export class ServeCommand extends CommandRunner {
  constructor(private readonly config: AppConfig) {
    super();
  }

  async run(): Promise<void> {
    // Fastify, Swagger and the rest of the HTTP graph load only for this command.
    const { serve } = require('../../app/serve') as typeof import('../../app/serve');
    const app = await serve(this.config);
    // Runs until the server closes; SIGTERM/SIGINT run the graceful shutdown installed by serve().
    await new Promise<void>((resolve) => app.getHttpServer().once('close', () => resolve()));
  }
}

@Module({ providers: [ServeCommand] })
export class ServeCommandModule {}
