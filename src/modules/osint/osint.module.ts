import { Module } from '@nestjs/common';
import { OutboundModule } from '../../core/outbound/outbound.module';
import { OsintController } from './osint.controller';
import { OsintDnsService } from './osint-dns.service';
import { OsintTlsService } from './osint-tls.service';
import { OsintWebService } from './osint-web.service';
import { UsernameProbeService } from './username-probe.service';

@Module({
  imports: [OutboundModule],
  controllers: [OsintController],
  providers: [OsintWebService, OsintDnsService, OsintTlsService, UsernameProbeService],
  exports: [UsernameProbeService],
})
export class OsintModule {}
