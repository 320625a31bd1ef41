import { DynamicModule, Global, Module } from '@nestjs/common';
import { ApiKeyStore } from './api-key-store';
import { MemoizedReflector } from '../metadata/memoized-reflector';

/** Provides the key store to the guards and the rate limiter, and the metadata reader they share. */
@Global()
@Module({})
export class AuthModule {
  static forRoot(keys: ApiKeyStore): DynamicModule {
    return {
      module: AuthModule,
      providers: [{ provide: ApiKeyStore, useValue: keys }, MemoizedReflector],
      exports: [ApiKeyStore, MemoizedReflector],
    };
  }
}
