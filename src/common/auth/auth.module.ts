import { DynamicModule, Global, Module, type ModuleMetadata, type Type } from '@nestjs/common';
import { ApiKeyStore, ChainedKeyStore } from './api-key-store';
import { MemoizedReflector } from '../metadata/memoized-reflector';

/** The managed keys' store and the module that provides it (the HTTP app passes the database's). */
export interface ManagedKeys {
  imports: NonNullable<ModuleMetadata['imports']>;
  store: Type<ApiKeyStore>;
}

/**
 * Provides the key store to the guards and the rate limiter, and the metadata reader they
 * share: the bootstrap keys first (no database read for them), then the managed keys.
 */
@Global()
@Module({})
export class AuthModule {
  static forRoot(bootstrap: ApiKeyStore, managed: ManagedKeys): DynamicModule {
    return {
      module: AuthModule,
      imports: managed.imports,
      providers: [
        { provide: ApiKeyStore, inject: [managed.store], useFactory: (store: ApiKeyStore) => new ChainedKeyStore([bootstrap, store]) },
        MemoizedReflector,
      ],
      exports: [ApiKeyStore, MemoizedReflector],
    };
  }
}
