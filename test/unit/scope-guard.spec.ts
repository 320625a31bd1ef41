import { ExecutionContext, ForbiddenException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Principal, Scope } from '../../src/common/auth/principal';
import { AdminOnly, HistoryScope, ScopeGuard } from '../../src/common/auth/scopes.decorator';

class Routes {
  @AdminOnly()
  purge(): void {}

  @HistoryScope()
  history(): void {}

  open(): void {}
}

const principalWith = (...scopes: Scope[]): Principal => ({ keyId: 'k1', name: 'k1', kind: 'managed', scopes: new Set(scopes), models: null, limits: {} });

function contextFor(handler: keyof Routes, principal: Principal | undefined): ExecutionContext {
  return {
    getHandler: () => Routes.prototype[handler],
    getClass: () => Routes,
    switchToHttp: () => ({ getRequest: () => ({ principal }) }),
  } as unknown as ExecutionContext;
}

describe(ScopeGuard.name, () => {
  const guard = new ScopeGuard(new Reflector());

  it('lets a key holding the scope through', () => {
    expect(guard.canActivate(contextFor('purge', principalWith('admin')))).toBe(true);
  });

  it('refuses a key without the scope with 403 naming it, and a request without a principal', () => {
    expect(() => guard.canActivate(contextFor('purge', principalWith('chat', 'history:all')))).toThrow(
      new ForbiddenException('This route needs a key with the admin scope'),
    );
    expect(() => guard.canActivate(contextFor('purge', undefined))).toThrow(ForbiddenException);
  });

  it('takes any one of several scopes, and names them all when none is held', () => {
    expect(guard.canActivate(contextFor('history', principalWith('history:own')))).toBe(true);
    expect(guard.canActivate(contextFor('history', principalWith('history:all')))).toBe(true);
    expect(() => guard.canActivate(contextFor('history', principalWith('chat')))).toThrow(
      new ForbiddenException('This route needs a key with the history:own or history:all scope'),
    );
  });

  it('does not restrict routes without a scope', () => {
    expect(guard.canActivate(contextFor('open', principalWith()))).toBe(true);
  });
});
