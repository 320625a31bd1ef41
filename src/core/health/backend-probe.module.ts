import { Module } from '@nestjs/common';
import { LlmModule } from '../llm/llm.module';
import { BackendProbe } from './backend-probe';

/** The background backend probe, shared by readiness and metrics. */
@Module({ imports: [LlmModule], providers: [BackendProbe], exports: [BackendProbe] })
export class BackendProbeModule {}
