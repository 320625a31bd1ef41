import { Module } from '@nestjs/common';
import { LlmModule } from '../../core/llm/llm.module';
import { PersistenceModule } from '../../core/persistence/persistence.module';
import { EmbeddingsService } from './embeddings.service';

/** Embedding calls and their storage, shared by the dialects that offer them. */
@Module({
  imports: [LlmModule, PersistenceModule],
  providers: [EmbeddingsService],
  exports: [EmbeddingsService],
})
export class EmbeddingsModule {}
