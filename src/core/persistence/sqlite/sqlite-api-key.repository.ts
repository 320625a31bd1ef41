import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { SCOPES, type Scope } from '../../../common/auth/principal';
import { ConflictError } from '../../../common/errors/app-errors';
import type { ApiKeyRecord } from '../api-key-record';
import { ApiKeyRepository } from '../api-key.repository';
import { limitsFromWire, limitsToWire } from '../../../common/auth/key-limits';

interface ApiKeyRow {
  id: string;
  name: string;
  prefix: string;
  scopes: string;
  models: string | null;
  limits: string;
  expires_at: string | null;
  created_at: string;
  updated_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

const COLUMNS = 'id, name, prefix, scopes, models, limits, expires_at, created_at, updated_at, last_used_at, revoked_at';

/** `api_keys` in the app's SQLite file; times as ISO 8601 UTC text, scopes, models and limits as JSON. */
@Injectable()
export class SqliteApiKeyRepository extends ApiKeyRepository {
  constructor(private readonly dataSource: DataSource) {
    super();
  }

  async insert(key: ApiKeyRecord, secretDigest: string): Promise<void> {
    await this.nameChecked(key.name, () =>
      this.dataSource.query(`INSERT INTO api_keys (${COLUMNS}, secret_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
        ...toRow(key),
        secretDigest,
      ]),
    );
  }

  async findByDigest(secretDigest: string): Promise<ApiKeyRecord | null> {
    return this.one(`SELECT ${COLUMNS} FROM api_keys WHERE secret_hash = ?`, [secretDigest]);
  }

  async findByIdOrName(ref: string): Promise<ApiKeyRecord | null> {
    return (await this.one(`SELECT ${COLUMNS} FROM api_keys WHERE id = ?`, [ref])) ?? this.one(`SELECT ${COLUMNS} FROM api_keys WHERE name = ?`, [ref]);
  }

  async list(options: { includeRevoked: boolean }): Promise<ApiKeyRecord[]> {
    const rows = (await this.dataSource.query(
      `SELECT ${COLUMNS} FROM api_keys ${options.includeRevoked ? '' : 'WHERE revoked_at IS NULL'} ORDER BY created_at, id`,
    )) as ApiKeyRow[];
    return rows.map(fromRow);
  }

  async update(key: ApiKeyRecord): Promise<void> {
    const [, name, , scopes, models, limits, expiresAt, , updatedAt, , revokedAt] = toRow(key);
    await this.nameChecked(key.name, () =>
      this.dataSource.query(`UPDATE api_keys SET name = ?, scopes = ?, models = ?, limits = ?, expires_at = ?, updated_at = ?, revoked_at = ? WHERE id = ?`, [
        name,
        scopes,
        models,
        limits,
        expiresAt,
        updatedAt,
        revokedAt,
        key.id,
      ]),
    );
  }

  async replaceSecret(id: string, secretDigest: string, prefix: string, at: Date): Promise<void> {
    await this.dataSource.query(`UPDATE api_keys SET secret_hash = ?, prefix = ?, updated_at = ? WHERE id = ?`, [secretDigest, prefix, at.toISOString(), id]);
  }

  async touch(id: string, at: Date): Promise<void> {
    await this.dataSource.query(`UPDATE api_keys SET last_used_at = ? WHERE id = ?`, [at.toISOString(), id]);
  }

  private async one(sql: string, params: unknown[]): Promise<ApiKeyRecord | null> {
    const rows = (await this.dataSource.query(sql, params)) as ApiKeyRow[];
    return rows.length === 0 ? null : fromRow(rows[0]);
  }

  /** The UNIQUE index decides (another process may have taken the name a moment ago). */
  private async nameChecked(name: string, write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
    } catch (error) {
      if (error instanceof Error && /UNIQUE constraint failed: api_keys\.name/.test(error.message)) {
        throw new ConflictError(`A key named "${name}" exists already`, { cause: error });
      }
      throw error;
    }
  }
}

function toRow(key: ApiKeyRecord): unknown[] {
  return [
    key.id,
    key.name,
    key.prefix,
    JSON.stringify(key.scopes),
    key.models === null ? null : JSON.stringify(key.models),
    JSON.stringify(limitsToWire(key.limits)),
    key.expiresAt?.toISOString() ?? null,
    key.createdAt.toISOString(),
    key.updatedAt.toISOString(),
    key.lastUsedAt?.toISOString() ?? null,
    key.revokedAt?.toISOString() ?? null,
  ];
}

function fromRow(row: ApiKeyRow): ApiKeyRecord {
  const date = (value: string | null) => (value === null ? null : new Date(value));
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: jsonArray(row.scopes).filter((scope): scope is Scope => (SCOPES as readonly unknown[]).includes(scope)),
    models: row.models === null ? null : jsonArray(row.models).filter((model): model is string => typeof model === 'string'),
    limits: limitsFromWire(jsonObject(row.limits)),
    expiresAt: date(row.expires_at),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    lastUsedAt: date(row.last_used_at),
    revokedAt: date(row.revoked_at),
  };
}

/** Written by this class only; an unreadable value grants nothing rather than failing the lookup. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

function jsonArray(text: string): unknown[] {
  const value = parseJson(text);
  return Array.isArray(value) ? value : [];
}

function jsonObject(text: string): Record<string, unknown> {
  const value = parseJson(text);
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
