import { parseArgs } from 'node:util';
import { FakeOllama, type ChatRequestBody, type FakeAnswer, type FakeCapability, type FakeOllamaOptions } from './fake-ollama';

/**
 * Standalone fake Ollama for benchmarks:
 *   node -r @swc-node/register test/support/fake-ollama.main.ts --port 0 [--host H]
 *        [--models a,b] [--capabilities tools,thinking] [--token-delay-ms N] [--reply "text"] [--script exchange]
 *
 * `--capabilities` gives every model those capabilities besides `completion`. `--script exchange`
 * answers as the exchange benchmark needs: a request offering tools gets a call of the first one
 * until a `tool` message carries its result, which is then answered in one sentence; a prompt
 * that says "<N> tokens" gets N tokens, half of them thinking when the model thinks.
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
      capabilities: { type: 'string' },
      script: { type: 'string' },
    },
    strict: true,
  });
  const options: FakeOllamaOptions = {
    // Recording every request would grow without bound under load.
    record: false,
    tokenDelayMs: parseCount('token-delay-ms', values['token-delay-ms'], 0),
  };
  const names = values.models ? values.models.split(',').map((m) => m.trim()).filter(Boolean) : ['mistral'];
  const extra = (values.capabilities ?? '').split(',').map((c) => c.trim()).filter(Boolean) as FakeCapability[];
  options.models = extra.length === 0 ? names : names.map((name) => ({ name, capabilities: ['completion', ...extra] }));
  if (values.script !== undefined) {
    if (values.script !== 'exchange') throw new Error(`--script must be "exchange", got "${values.script}"`);
    options.respond = exchangeScript;
  }
  const reply = values.reply;
  if (reply !== undefined) options.reply = () => reply;
  return { port: parseCount('port', values.port, 11434), host: values.host ?? '127.0.0.1', options };
}

/** `--script exchange`: a tool round trip, and answers of a requested length (see the header). */
function exchangeScript(req: ChatRequestBody): FakeAnswer {
  const messages = req.messages ?? [];
  const last = messages[messages.length - 1];
  const tools = Array.isArray(req.tools) ? (req.tools as { function?: { name?: string } }[]) : [];
  if (last?.role === 'tool') return { content: `The tool said: ${String(last.content).slice(0, 80)}` };
  if (tools.length > 0) return { toolCalls: [{ name: tools[0].function?.name ?? 'tool', arguments: { city: 'Oslo', unit: 'celsius' } }] };
  const wanted = /(\d+) tokens/.exec(typeof last?.content === 'string' ? last.content : '');
  if (!wanted) return {};
  const count = Number(wanted[1]);
  const words = (n: number, word: string) => Array.from({ length: n }, (_, i) => `${word}${i}`).join(' ');
  return { thinking: words(Math.floor(count / 2), 'hmm'), content: words(count - Math.floor(count / 2), 'word') };
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
