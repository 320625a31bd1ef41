import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { keyDigest } from '../../common/auth/api-key-store';
import { ConflictError, InvalidInputError, NotFoundError } from '../../common/errors/app-errors';
import { randomHex } from '../../common/ids/random-hex';
import { AuditService } from '../audit/audit.service';
import type { ApiKeyRecord } from '../../core/persistence/api-key-record';
import { ApiKeyRepository } from '../../core/persistence/api-key.repository';
import { DatabaseKeyStore } from './database-key-store';
import { parseExpiry, parseLimits, parseModels, parseName, parseScopes } from './key-input';

/** A key's fields as the user sent them (API body or CLI options), checked here for both. */
export interface KeyInput {
  name?: unknown;
  scopes?: unknown;
  models?: unknown;
  limits?: unknown;
  expiresAt?: unknown;
}

/** A key with its secret: only the answer of a create or a rotate holds it. */
export interface IssuedKey {
  key: ApiKeyRecord;
  secret: string;
}

/** The id of who makes a change, for the audit log: the acting key's id, or `cli`. */
export type Actor = string;

/** How many characters of the secret are kept to recognise it (`vk-` and 7 more). */
const PREFIX_LENGTH = 10;

/**
 * Managed keys: create, list, show, update, rotate, revoke — for `/admin/keys` and `vega keys`.
 * Only a digest of each secret is stored; every change goes to the audit log (the target key
 * in the detail, never a secret) and is seen at once by this process's key store.
 */
@Injectable()
export class ApiKeysService {
  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly store: DatabaseKeyStore,
    private readonly audit: AuditService,
  ) {}

  async create(input: KeyInput, actor: Actor): Promise<IssuedKey> {
    const started = performance.now();
    const now = new Date();
    const secret = newSecret();
    const key: ApiKeyRecord = {
      id: `key_${randomHex(8)}`,
      name: parseName(input.name),
      prefix: secret.slice(0, PREFIX_LENGTH),
      scopes: parseScopes(input.scopes),
      models: input.models === undefined ? null : parseModels(input.models),
      limits: input.limits === undefined || input.limits === null ? {} : parseLimits(input.limits),
      expiresAt: input.expiresAt === undefined ? null : parseExpiry(input.expiresAt, now),
      createdAt: now,
      updatedAt: now,
      lastUsedAt: null,
      revokedAt: null,
    };
    await this.keys.insert(key, digestHex(secret));
    await this.changed(actor, 'POST /admin/keys', key, started, 201, 'created');
    return { key, secret };
  }

  list(options: { includeRevoked: boolean }): Promise<ApiKeyRecord[]> {
    return this.keys.list(options);
  }

  /** By id or by name; unknown → `NotFoundError`. */
  async show(ref: string): Promise<ApiKeyRecord> {
    const key = await this.keys.findByIdOrName(ref);
    if (key === null) throw new NotFoundError(`No API key with the id or name "${ref}"`);
    return key;
  }

  async update(ref: string, input: KeyInput, actor: Actor): Promise<ApiKeyRecord> {
    const started = performance.now();
    const given = (Object.keys(input) as (keyof KeyInput)[]).filter((field) => input[field] !== undefined);
    if (given.length === 0) throw new InvalidInputError('Nothing to change: give one or more of name, scopes, models, limits, expires_at');
    const key = await this.changeable(ref);
    const now = new Date();
    const updated: ApiKeyRecord = {
      ...key,
      name: input.name === undefined ? key.name : parseName(input.name),
      scopes: input.scopes === undefined ? key.scopes : parseScopes(input.scopes),
      models: input.models === undefined ? key.models : parseModels(input.models),
      limits: input.limits === undefined ? key.limits : parseLimits(input.limits, key.limits),
      expiresAt: input.expiresAt === undefined ? key.expiresAt : parseExpiry(input.expiresAt, now),
      updatedAt: now,
    };
    await this.keys.update(updated);
    const fields = given.map((field) => (field === 'expiresAt' ? 'expires_at' : field)).join(', ');
    await this.changed(actor, 'PATCH /admin/keys/:id', updated, started, 200, `changed ${fields}`);
    return updated;
  }

  /** A new secret for the key; the old one is refused from now on. */
  async rotate(ref: string, actor: Actor): Promise<IssuedKey> {
    const started = performance.now();
    const key = await this.changeable(ref);
    const secret = newSecret();
    const rotated: ApiKeyRecord = { ...key, prefix: secret.slice(0, PREFIX_LENGTH), updatedAt: new Date() };
    await this.keys.replaceSecret(key.id, digestHex(secret), rotated.prefix, rotated.updatedAt);
    await this.changed(actor, 'POST /admin/keys/:id/rotate', rotated, started, 200, `rotated (was ${key.prefix}…)`);
    return { key: rotated, secret };
  }

  /** Revokes for good (a revoked key stays listed with `include_revoked`); revoking again changes nothing. */
  async revoke(ref: string, actor: Actor): Promise<ApiKeyRecord> {
    const started = performance.now();
    const key = await this.show(ref);
    if (key.revokedAt !== null) return key;
    const now = new Date();
    const revoked: ApiKeyRecord = { ...key, revokedAt: now, updatedAt: now };
    await this.keys.update(revoked);
    await this.changed(actor, 'POST /admin/keys/:id/revoke', revoked, started, 200, 'revoked');
    return revoked;
  }

  private async changeable(ref: string): Promise<ApiKeyRecord> {
    const key = await this.show(ref);
    if (key.revokedAt !== null) throw new ConflictError(`The API key "${key.name}" was revoked at ${key.revokedAt.toISOString()}; create a new one`);
    return key;
  }

  /** The change is stored: this process's lookups see it at once, and the audit log records it. */
  private async changed(actor: Actor, route: string, key: ApiKeyRecord, started: number, status: number, what: string): Promise<void> {
    this.store.forget();
    await this.audit.record({
      at: new Date(),
      keyId: actor,
      route,
      models: [],
      outcome: 'ok',
      status,
      durationMs: performance.now() - started,
      detail: `key ${key.id} (${key.name}) ${what}`,
    });
  }
}

/** `vk-` (recognisable in a leak scan) and 32 random bytes. */
function newSecret(): string {
  return `vk-${randomBytes(32).toString('base64url')}`;
}

function digestHex(secret: string): string {
  return keyDigest(secret).toString('hex');
}
