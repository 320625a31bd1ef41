import { parseArgs } from 'node:util';
import { FakeOllama, type FakeOllamaOptions } from './fake-ollama';

/**
 * Standalone fake Ollama for benchmarks:
 *   node -r @swc-node/register test/support/fake-ollama.main.ts --port 0 [--host H]
 *        [--models a,b] [--token-delay-ms N] [--reply "text"]
 */

function parseCount(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${flag} must be a non-negative integer, got "${value}"`);
  return n;
}

function optionsFromArgs(argv: string[]): { port: number; host: string; options: FakeOllamaOptions } {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      models: { type: 'string' },
      'token-delay-ms': { type: 'string' },
      reply: { type: 'string' },
    },
    strict: true,
  });
  const options: FakeOllamaOptions = {
    // Recording every request would grow without bound under load.
    record: false,
    tokenDelayMs: parseCount('token-delay-ms', values['token-delay-ms'], 0),
  };
  if (values.models) options.models = values.models.split(',').map((m) => m.trim()).filter(Boolean);
  const reply = values.reply;
  if (reply !== undefined) options.reply = () => reply;
  return { port: parseCount('port', values.port, 11434), host: values.host ?? '127.0.0.1', options };
}

async function main(): Promise<void> {
  const { port, host, options } = optionsFromArgs(process.argv.slice(2));
  const fake = new FakeOllama(options);
  const url = await fake.start(port, host);
  process.stdout.write(`fake-ollama listening on ${url}\n`);
  const shutdown = (): void => {
    fake.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`fake-ollama: stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`fake-ollama: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
