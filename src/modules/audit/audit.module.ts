import { Module } from '@nestjs/common';
import { AuditLogRepository } from '../../core/persistence/audit-log.repository';
import { PersistenceModule } from '../../core/persistence/persistence.module';
import { TypeOrmAuditLogRepository } from '../../core/persistence/typeorm-audit-log.repository';
import { AuditService } from './audit.service';

/** The audit log of administrative calls; shared by the HTTP app and `vega admin audit`. */
@Module({
  imports: [PersistenceModule],
  providers: [{ provide: AuditLogRepository, useClass: TypeOrmAuditLogRepository }, AuditService],
  exports: [AuditService],
})
export class AuditModule {}
