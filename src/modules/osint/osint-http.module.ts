import { Module } from '@nestjs/common';
import { NetScanController } from './net-scan.controller';
import { OsintController } from './osint.controller';
import { OsintModule } from './osint.module';

/** The `/osint/*` and `/net/scan` routes over the transport-free `OsintModule`. */
@Module({ imports: [OsintModule], controllers: [OsintController, NetScanController] })
export class OsintHttpModule {}
