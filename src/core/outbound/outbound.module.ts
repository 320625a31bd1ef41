import { Module } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { DnsServersHostResolver, HostResolver, SystemHostResolver } from './host-resolver';
import { OutboundFetcher } from './outbound-fetcher';
import { TargetGuard } from './target-guard';

/** The outbound fetcher and the resolver it vets addresses with (also used by the OSINT DNS look-ups). */
@Module({
  providers: [
    {
      provide: HostResolver,
      inject: [AppConfig],
      useFactory: (config: AppConfig): HostResolver =>
        config.outbound.dnsServers.length > 0
          ? DnsServersHostResolver.forServers(config.outbound.dnsServers)
          : new SystemHostResolver(),
    },
    TargetGuard,
    OutboundFetcher,
  ],
  exports: [HostResolver, TargetGuard, OutboundFetcher],
})
export class OutboundModule {}
