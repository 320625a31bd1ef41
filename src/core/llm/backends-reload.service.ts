import { Injectable, Logger, Optional, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ConflictError } from '../../common/errors/app-errors';
import { hangupMeaning } from '../../common/lifecycle/hangup';
import { AppConfig } from '../../config/app-config';
import { BackendsFileError, readBackendsFile } from '../../config/backends-file';
import { resolveFallbacks, StrategyName } from '../../config/routing-settings';
import { ChangeNotices } from '../redis/change-notices';
import { RedisClient } from '../redis/redis.client';
import { RedisTargetSlots } from '../redis/redis-target-slots';
import { targetFor } from './routing/pool-from-config';
import { PoolChanges, TargetPool } from './routing/target-pool';

/** What a reload applied: the file (null without one), the strategy and targets now, and which were added, removed or changed. */
export interface BackendsReload extends PoolChanges {
  file: string | null;
  strategy: StrategyName;
  targets: string[];
}

/**
 * `BACKENDS_FILE` read again while Vega runs (`POST /admin/backends/reload`, `vega backends
 * reload`, SIGHUP without a terminal): checked whole first — a file with problems is refused with every one named
 * and the running set stays — then applied to the pool (requests in flight on a target taken
 * out finish there). With Redis, every other instance is told and reads its own file again.
 */
@Injectable()
export class BackendsReloadService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Backends');
  private readonly onHangup = () => this.reloadQuietly('SIGHUP');

  constructor(
    private readonly config: AppConfig,
    private readonly pool: TargetPool,
    private readonly adapterHost: HttpAdapterHost,
    @Optional() private readonly redis?: RedisClient,
    @Optional() private readonly notices?: ChangeNotices,
  ) {
    notices?.on('backends', () => this.reloadQuietly("another instance's notice"));
  }

  /**
   * The server (not a CLI command) without a terminal reloads on SIGHUP, as daemons do
   * (`systemctl reload`); without a file it says there is nothing to read rather than die of the
   * signal's default. On a terminal, SIGHUP means it closed: the graceful shutdown takes it.
   */
  onApplicationBootstrap(): void {
    if (this.adapterHost.httpAdapter && hangupMeaning() === 'reload') process.on('SIGHUP', this.onHangup);
  }

  onApplicationShutdown(): void {
    process.off('SIGHUP', this.onHangup);
  }

  /**
   * Reads, checks and applies the file, and tells the other instances; `ConflictError` when it has
   * problems. Without `BACKENDS_FILE` there is nothing to read: nothing changes (`file` null).
   */
  reload(): BackendsReload {
    const reloaded = this.apply();
    if (reloaded.file) this.notices?.announce('backends');
    return reloaded;
  }

  private apply(): BackendsReload {
    const file = this.config.routing.file;
    if (!file) {
      this.logger.log('No BACKENDS_FILE to reload: the model servers come from OLLAMA_URL or OPENAI_BASE_URL, read at start');
      return { file: null, strategy: this.pool.strategy, targets: this.pool.targets.map((target) => target.name), added: [], removed: [], changed: [] };
    }
    let read;
    try {
      // Keys named by api_key_env are read from the environment as it is now.
      read = readBackendsFile(file, process.env);
    } catch (error) {
      if (error instanceof BackendsFileError) throw new ConflictError(`${error.message}; the model servers in use stay as they were`);
      throw error;
    }
    const shared = this.redis && new RedisTargetSlots(this.redis);
    const strategy = read.strategy ?? this.config.routing.strategy;
    const changes = this.pool.reload(
      { targets: read.targets, strategy, aliases: read.aliases, fallbacks: resolveFallbacks(read.fallbacks, read.aliases) },
      (settings) => targetFor(settings, this.config, shared),
    );
    const said = (['added', 'removed', 'changed'] as const).filter((what) => changes[what].length > 0).map((what) => `${what} ${changes[what].join(', ')}`);
    this.logger.log(`BACKENDS_FILE reloaded: ${said.length > 0 ? said.join('; ') : 'no target changed'} (strategy ${strategy})`);
    return { file, strategy, targets: this.pool.targets.map((target) => target.name), ...changes };
  }

  private reloadQuietly(why: string): void {
    try {
      this.apply();
    } catch (error) {
      this.logger.warn(`BACKENDS_FILE not reloaded on ${why}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
