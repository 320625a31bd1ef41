import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RedisServer } from './redis-server';
import { freePort } from './vega-process';

const run = promisify(execFile);

/** How long a master may be silent before the others mark it failed (the cluster then refuses: CLUSTERDOWN). */
const NODE_TIMEOUT_MS = 1_000;

/**
 * A private Redis Cluster of three masters (no replicas) on loopback ports, nothing saved but
 * each node's cluster layout file (in a temporary directory, removed by `stop()`). Made with
 * `redis-cli --cluster create`, ready once every node says `cluster_state:ok`.
 */
export class RedisCluster {
  private constructor(
    readonly nodes: RedisServer[],
    private readonly dir: string,
  ) {}

  /** Seed URLs, comma-separated, as `REDIS_URL` takes them with `REDIS_CLUSTER=true`. */
  get url(): string {
    return this.nodes.map((node) => node.url).join(',');
  }

  static async start(masters = 3): Promise<RedisCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'vega-redis-cluster-'));
    const nodes: RedisServer[] = [];
    const cluster = new RedisCluster(nodes, dir);
    try {
      for (let i = 0; i < masters; i += 1) {
        const port = await freePort();
        // The bus port is chosen too: port + 10000 may be taken, or beyond 65535.
        const options = ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', String(NODE_TIMEOUT_MS), '--cluster-port', String(await freePort()), '--dir', dir];
        nodes.push(await RedisServer.start(options, port));
      }
      await run('redis-cli', ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
      await cluster.waitFor('ok');
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** Waits until every node that runs reports `cluster_state:<state>` (10 s at most). */
  async waitFor(state: 'ok' | 'fail', nodes = this.nodes): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const states = await Promise.all(nodes.map((node) => this.info(node).catch(() => '')));
      if (states.every((info) => info.includes(`cluster_state:${state}`))) return;
      if (Date.now() > deadline) throw new Error(`the cluster did not reach cluster_state:${state} within 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Runs a `redis-cli` command on one node (`-c`: following MOVED to the key's node). */
  async cli(node: RedisServer, ...args: string[]): Promise<string> {
    return (await run('redis-cli', ['-c', '-p', String(node.port), ...args], { timeout: 10_000 })).stdout;
  }

  /** The slot of a key, as the cluster computes it. */
  async slotOf(key: string): Promise<number> {
    return Number((await this.cli(this.nodes[0]!, 'CLUSTER', 'KEYSLOT', key)).trim());
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private info(node: RedisServer): Promise<string> {
    return this.cli(node, 'CLUSTER', 'INFO');
  }
}
