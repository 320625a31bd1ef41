import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConflictError } from '../../../common/errors/app-errors';
import type { ApiKeyRecord } from '../api-key-record';
import { API_KEY_COLUMNS as COLUMNS, type ApiKeyRow, fromRow, toRow } from '../api-key-row';
import { ApiKeyRepository } from '../api-key.repository';
import { DatabaseHealth, driverCode } from '../database-health';

/** SQLSTATE unique_violation. */
const UNIQUE_VIOLATION = '23505';

/** `api_keys` on PostgreSQL: the same rows as SQLite's (`api-key-row.ts`), times as timestamptz. */
@Injectable()
export class PostgresApiKeyRepository extends ApiKeyRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly health: DatabaseHealth,
  ) {
    super();
  }

  /** One statement; a server that is down or too slow fails it as `DatabaseUnavailableError` (503). */
  private query(sql: string, params?: unknown[]): Promise<unknown> {
    return this.health.guard(this.dataSource.query(sql, params));
  }

  async insert(key: ApiKeyRecord, secretDigest: string): Promise<void> {
    await this.nameChecked(key.name, () =>
      this.query(`INSERT INTO api_keys (${COLUMNS}, secret_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, [
        ...toRow(key),
        secretDigest,
      ]),
    );
  }

  findByDigest(secretDigest: string): Promise<ApiKeyRecord | null> {
    return this.one(`SELECT ${COLUMNS} FROM api_keys WHERE secret_hash = $1`, [secretDigest]);
  }

  async findByIdOrName(ref: string): Promise<ApiKeyRecord | null> {
    return (await this.one(`SELECT ${COLUMNS} FROM api_keys WHERE id = $1`, [ref])) ?? this.one(`SELECT ${COLUMNS} FROM api_keys WHERE name = $1`, [ref]);
  }

  async list(options: { includeRevoked: boolean }): Promise<ApiKeyRecord[]> {
    const rows = (await this.query(
      `SELECT ${COLUMNS} FROM api_keys ${options.includeRevoked ? '' : 'WHERE revoked_at IS NULL'} ORDER BY created_at, id`,
    )) as ApiKeyRow[];
    return rows.map(fromRow);
  }

  async update(key: ApiKeyRecord): Promise<void> {
    const [, name, , scopes, models, limits, expiresAt, , updatedAt, , revokedAt] = toRow(key);
    await this.nameChecked(key.name, () =>
      this.query(
        `UPDATE api_keys SET name = $1, scopes = $2, models = $3, limits = $4, expires_at = $5, updated_at = $6, revoked_at = $7 WHERE id = $8`,
        [name, scopes, models, limits, expiresAt, updatedAt, revokedAt, key.id],
      ),
    );
  }

  async replaceSecret(id: string, secretDigest: string, prefix: string, at: Date): Promise<void> {
    await this.query(`UPDATE api_keys SET secret_hash = $1, prefix = $2, updated_at = $3 WHERE id = $4`, [secretDigest, prefix, at.toISOString(), id]);
  }

  async touch(id: string, at: Date): Promise<void> {
    await this.query(`UPDATE api_keys SET last_used_at = $1 WHERE id = $2`, [at.toISOString(), id]);
  }

  private async one(sql: string, params: unknown[]): Promise<ApiKeyRecord | null> {
    const rows = (await this.query(sql, params)) as ApiKeyRow[];
    return rows.length === 0 ? null : fromRow(rows[0]);
  }

  /** The UNIQUE constraint decides (another instance may have taken the name a moment ago). */
  private async nameChecked(name: string, write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
    } catch (error) {
      const constraint = (error as { driverError?: { constraint?: unknown } }).driverError?.constraint;
      if (driverCode(error) === UNIQUE_VIOLATION && constraint === 'api_keys_name_key') {
        throw new ConflictError(`A key named "${name}" exists already`, { cause: error });
      }
      throw error;
    }
  }
}
