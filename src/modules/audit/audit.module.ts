import { Module } from '@nestjs/common';
import { PersistenceModule } from '../../core/persistence/persistence.module';
import { AuditService } from './audit.service';

/** The audit log of administrative calls; shared by the HTTP app and `vega admin audit`. */
@Module({
  imports: [PersistenceModule],
  providers: [AuditService],
  exports: [AuditService],
})
export class AuditModule {}
