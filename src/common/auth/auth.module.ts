import { DynamicModule, Global, Module } from '@nestjs/common';
import { ApiKeyRing } from './api-key-ring';

/** Provides the accepted API keys to the guard and the rate limiter. */
@Global()
@Module({})
export class AuthModule {
  static forRoot(ring: ApiKeyRing): DynamicModule {
    return { module: AuthModule, providers: [{ provide: ApiKeyRing, useValue: ring }], exports: [ApiKeyRing] };
  }
}
