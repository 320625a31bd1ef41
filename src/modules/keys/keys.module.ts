import { Module } from '@nestjs/common';
import { PersistenceModule } from '../../core/persistence/persistence.module';
import { AuditModule } from '../audit/audit.module';
import { ApiKeysService } from './api-keys.service';
import { DatabaseKeyStore } from './database-key-store';

/** Managed keys: the table, the service (API and `vega keys`) and the key store the HTTP app asks after the environment's keys. */
@Module({
  imports: [PersistenceModule, AuditModule],
  providers: [DatabaseKeyStore, ApiKeysService],
  exports: [ApiKeysService, DatabaseKeyStore],
})
export class KeysModule {}
