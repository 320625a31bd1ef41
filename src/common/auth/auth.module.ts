import { DynamicModule, Global, Module } from '@nestjs/common';
import { ApiKeyRing } from './api-key-ring';
import { KeyScopes } from './admin-only.decorator';
import { MemoizedReflector } from '../metadata/memoized-reflector';

/**
 * Provides the accepted API keys (and what each may do) to the guards and the rate limiter,
 * and the metadata reader they share.
 */
@Global()
@Module({})
export class AuthModule {
  /** `scopes`: what each key may do (by default every key holds every scope). */
  static forRoot(ring: ApiKeyRing, scopes: KeyScopes = new KeyScopes()): DynamicModule {
    return {
      module: AuthModule,
      providers: [{ provide: ApiKeyRing, useValue: ring }, { provide: KeyScopes, useValue: scopes }, MemoizedReflector],
      exports: [ApiKeyRing, KeyScopes, MemoizedReflector],
    };
  }
}
