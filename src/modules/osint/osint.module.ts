import { Module } from '@nestjs/common';
import { OutboundModule } from '../../core/outbound/outbound.module';
import { NetScanService } from './net-scan.service';
import { OsintDnsService } from './osint-dns.service';
import { OsintTlsService } from './osint-tls.service';
import { OsintWebService } from './osint-web.service';
import { UsernameProbeService } from './username-probe.service';
import { WhoisService } from './whois.service';

const SERVICES = [OsintWebService, OsintDnsService, OsintTlsService, UsernameProbeService, NetScanService, WhoisService];

/** OSINT look-ups and the port scan without transport: shared by the HTTP routes and the CLI. */
@Module({
  imports: [OutboundModule],
  providers: SERVICES,
  exports: SERVICES,
})
export class OsintModule {}
