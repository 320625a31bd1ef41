/**
 * The least a proxy in front of Ollama can do in Node: node:http in, one streaming undici
 * request to `/api/chat` out, the NDJSON lines joined into `{"response"}`. No framework, no
 * auth, no validation, no database, no logs. `npm run bench` measures it next to Vega, so the
 * report shows how much of Vega's added latency any Node proxy pays on the machine at hand.
 *
 * Usage: node -r @swc-node/register bench/reference-proxy.ts --upstream URL
 */
import { createServer } from 'node:http';
import { Agent, request } from 'undici';
import { NdjsonDecoder } from '../src/core/llm/transport/ndjson';

const upstream = process.argv[process.argv.indexOf('--upstream') + 1];
const agent = new Agent({ keepAliveTimeout: 60_000, connections: 256 });

const server = createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (chunk: Buffer) => parts.push(chunk));
  req.on('end', () => {
    const { prompt } = JSON.parse(Buffer.concat(parts).toString()) as { prompt: string };
    const body = JSON.stringify({ model: 'mistral', messages: [{ role: 'user', content: prompt }], stream: true });
    relay(body).then(
      (text) => {
        const out = JSON.stringify({ response: text });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
        res.end(out);
      },
      (error: unknown) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(String(error));
      },
    );
  });
});

async function relay(body: string): Promise<string> {
  const response = await request(`${upstream}/api/chat`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json' },
    dispatcher: agent,
  });
  const lines = new NdjsonDecoder();
  let text = '';
  for await (const chunk of response.body) {
    for (const line of lines.push(chunk as Buffer)) text += (line as { message?: { content?: string } }).message?.content ?? '';
  }
  return text;
}

server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  console.log(`reference proxy listening on http://127.0.0.1:${port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
