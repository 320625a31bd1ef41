import { Module } from '@nestjs/common';
import { OutboundModule } from '../../core/outbound/outbound.module';
import { OsintController } from './osint.controller';
import { OsintWebService } from './osint-web.service';

@Module({
  imports: [OutboundModule],
  controllers: [OsintController],
  providers: [OsintWebService],
})
export class OsintModule {}
