import { Module } from '@nestjs/common';
import { OutboundModule } from '../../core/outbound/outbound.module';
import { NetScanController } from './net-scan.controller';
import { NetScanService } from './net-scan.service';
import { OsintController } from './osint.controller';
import { OsintDnsService } from './osint-dns.service';
import { OsintTlsService } from './osint-tls.service';
import { OsintWebService } from './osint-web.service';
import { UsernameProbeService } from './username-probe.service';
import { WhoisService } from './whois.service';

@Module({
  imports: [OutboundModule],
  controllers: [OsintController, NetScanController],
  providers: [OsintWebService, OsintDnsService, OsintTlsService, UsernameProbeService, NetScanService, WhoisService],
  exports: [UsernameProbeService, NetScanService],
})
export class OsintModule {}
