import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConflictError } from '../../../common/errors/app-errors';
import type { ApiKeyRecord } from '../api-key-record';
import { API_KEY_COLUMNS as COLUMNS, type ApiKeyRow, fromRow, toRow } from '../api-key-row';
import { ApiKeyRepository } from '../api-key.repository';

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
