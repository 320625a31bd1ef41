import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppConfig } from '../../src/config/app-config';
import { ConversationRepository, type NewExchange, type SpooledExchange, type Turn } from '../../src/core/persistence/conversation.repository';
import { DatabaseHealth } from '../../src/core/persistence/database-health';
import { ExchangeSpool } from '../../src/core/persistence/exchange-spool';

/**
 * A database whose spool replay waits at a gate the test opens: the round trip to a server that
 * hangs. Only the replay's calls are expected; any other fails the test.
 */
class GatedRepository extends ConversationRepository {
  readonly stored: SpooledExchange[] = [];
  readonly forgotten: string[] = [];
  private open!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));
  private entered!: () => void;
  /** Resolves once a replay waits at the gate. */
  readonly waiting = new Promise<void>((resolve) => (this.entered = resolve));

  release(): void {
    this.open();
  }

  insert(): Promise<number> {
    throw new Error('unexpected insert');
  }

  recentTurns(): Promise<Turn[]> {
    throw new Error('unexpected recentTurns');
  }

  async storeSpooled(entries: readonly SpooledExchange[]): Promise<{ written: number; refused: string[] }> {
    this.entered();
    await this.gate;
    this.stored.push(...entries);
    return { written: entries.length, refused: [] };
  }

  async forgetSpooled(keys: readonly string[]): Promise<void> {
    this.forgotten.push(...keys);
  }
}

const exchange = (prompt: string): NewExchange => ({ prompt, response: 'ok', source: 'api', model: 'm', sessionId: 's', status: 'ok' });

describe(ExchangeSpool.name, () => {
  let dir: string;
  let path: string;
  let repository: GatedRepository;
  let spool: ExchangeSpool;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vega-spool-'));
    path = join(dir, 'pending-exchanges.jsonl');
    repository = new GatedRepository();
    spool = new ExchangeSpool({ database: { spoolPath: path } } as AppConfig, repository, new DatabaseHealth());
  });

  afterEach(async () => {
    repository.release();
    await spool.onApplicationShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  const lines = () => readFileSync(path, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { prompt: string; key: string });

  describe('append', () => {
    it('groups concurrent appends into far fewer fsyncs, and acknowledges none before the fsync that covers it', async () => {
      const count = 50;
      const acknowledged: { prompt: string; fsyncs: number; onDisk: boolean }[] = [];
      await Promise.all(
        Array.from({ length: count }, (_, i) =>
          spool.append(exchange(`chat ${i}`), new Date()).then(() =>
            acknowledged.push({ prompt: `chat ${i}`, fsyncs: spool.fsyncs, onDisk: readFileSync(path, 'utf8').includes(`"chat ${i}"`) }),
          ),
        ),
      );
      expect(lines().map((line) => line.prompt)).toEqual(Array.from({ length: count }, (_, i) => `chat ${i}`));
      // The first append syncs alone; the 49 that arrive during its fsync share the next one.
      expect(spool.fsyncs).toBeGreaterThanOrEqual(1);
      expect(spool.fsyncs).toBeLessThanOrEqual(3);
      expect(acknowledged).toHaveLength(count);
      for (const ack of acknowledged) expect(ack).toMatchObject({ onDisk: true, fsyncs: expect.any(Number) });
      expect(Math.min(...acknowledged.map((ack) => ack.fsyncs))).toBeGreaterThanOrEqual(1);
      expect(spool.pending).toBe(true);
    });

    it('keeps the order of the answers: appendIfWaiting joins the waiting lines, and spools nothing once the spool is empty', async () => {
      expect(await spool.appendIfWaiting(exchange('alone'), new Date())).toBe(false);
      await spool.append(exchange('first'), new Date());
      expect(await spool.appendIfWaiting(exchange('second'), new Date())).toBe(true);
      expect(lines().map((line) => line.prompt)).toEqual(['first', 'second']);
    });
  });

  describe('replay', () => {
    it('does not hold the file while the database round trip waits: appends go on, and the replay keeps them', async () => {
      await spool.append(exchange('before'), new Date());
      const replay = spool.replay();
      let replayed: number | undefined;
      void replay.then((written) => (replayed = written));
      await repository.waiting;

      // The replay waits for the database; an append is synced and acknowledged meanwhile.
      await spool.append(exchange('during'), new Date());
      expect(replayed).toBeUndefined();
      expect(lines().map((line) => line.prompt)).toEqual(['before', 'during']);

      repository.release();
      expect(await replay).toBe(1);
      expect(repository.stored.map((entry) => entry.exchange.prompt)).toEqual(['before']);
      // Only what was replayed is trimmed; the line appended meanwhile waits for the next replay.
      expect(lines().map((line) => line.prompt)).toEqual(['during']);
      expect(spool.pending).toBe(true);
      expect(await spool.replay()).toBe(1);
      expect(repository.stored.map((entry) => entry.exchange.prompt)).toEqual(['before', 'during']);
      expect(spool.pending).toBe(false);
    });

    it('forgets a failed write key only once no waiting line carries it', async () => {
      await spool.append(exchange('batch a'), new Date(), 'write:k1');
      const replay = spool.replay();
      await repository.waiting;
      await spool.append(exchange('batch b'), new Date(), 'write:k1');
      repository.release();
      await replay;
      expect(repository.forgotten).not.toContain('write:k1');
      await spool.replay();
      expect(repository.forgotten).toContain('write:k1');
    });
  });
});
