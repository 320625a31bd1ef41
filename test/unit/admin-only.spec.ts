import { ExecutionContext, ForbiddenException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AdminOnly, KeyScopes, Scope, ScopeGuard } from '../../src/common/auth/admin-only.decorator';

class AdminRoutes {
  @AdminOnly()
  purge(): void {}

  open(): void {}
}

/** A key policy where only the listed key ids hold the admin scope. */
class OnlySomeKeysAreAdmin extends KeyScopes {
  constructor(private readonly admins: string[]) {
    super();
  }

  override has(keyId: string, scope: Scope): boolean {
    return scope === 'admin' && this.admins.includes(keyId);
  }
}

function contextFor(handler: keyof AdminRoutes, apiKeyId: string | undefined): ExecutionContext {
  return {
    getHandler: () => AdminRoutes.prototype[handler],
    getClass: () => AdminRoutes,
    switchToHttp: () => ({ getRequest: () => ({ apiKeyId }) }),
  } as unknown as ExecutionContext;
}

describe(ScopeGuard.name, () => {
  const reflector = new Reflector();

  it('lets every accepted key use admin routes while all keys are admin keys', () => {
    const guard = new ScopeGuard(reflector, new KeyScopes());
    expect(guard.canActivate(contextFor('purge', 'primary'))).toBe(true);
    expect(guard.canActivate(contextFor('purge', 'extra-1'))).toBe(true);
  });

  it('refuses a key without the admin scope with 403, once such keys exist', () => {
    const guard = new ScopeGuard(reflector, new OnlySomeKeysAreAdmin(['extra-1']));
    expect(guard.canActivate(contextFor('purge', 'extra-1'))).toBe(true);
    expect(() => guard.canActivate(contextFor('purge', 'primary'))).toThrow(
      new ForbiddenException('This route needs a key with the admin scope'),
    );
    expect(() => guard.canActivate(contextFor('purge', undefined))).toThrow(ForbiddenException);
  });

  it('does not restrict routes without a scope', () => {
    const guard = new ScopeGuard(reflector, new OnlySomeKeysAreAdmin([]));
    expect(guard.canActivate(contextFor('open', 'primary'))).toBe(true);
  });
});
