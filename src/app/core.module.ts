import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { ConfigModule } from '../config/config.module';
import { LlmModule } from '../core/llm/llm.module';
import { PersistenceModule } from '../core/persistence/persistence.module';
import { ChatModule } from '../modules/chat/chat.module';

/** The graph shared by the HTTP app and the CLI: configuration, infrastructure, features. */
@Module({})
export class CoreModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CoreModule,
      imports: [ConfigModule.forRoot(config), PersistenceModule.forRoot(config.database), LlmModule, ChatModule],
      exports: [ConfigModule, PersistenceModule, LlmModule, ChatModule],
    };
  }
}
