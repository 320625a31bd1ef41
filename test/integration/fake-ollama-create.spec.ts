import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { BackendError, BackendRejectedError, ModelNotFoundError } from '../../src/common/errors/app-errors';
import { OllamaModelsClient } from '../../src/modules/training/ollama-models.client';
import { FakeOllama } from '../support/fake-ollama';

const BASE = 'qwen2.5:1.5b-instruct';
const GGUF = Buffer.concat([Buffer.from('GGUF'), Buffer.from([3, 0, 0, 0, 1, 2, 3, 4])]);
const digestOf = (bytes: Buffer | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

let fake: FakeOllama;
const http = (path: string, init: RequestInit = {}) => fetch(`${fake.url}${path}`, init);
const post = (path: string, body: unknown) => http(path, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
const lines = async (response: Response) => (await response.text()).trim().split('\n').map((line) => JSON.parse(line));

beforeEach(async () => {
  fake = new FakeOllama({ models: [BASE] });
  await fake.start();
});
afterEach(() => fake.stop());

describe('FakeOllama /api/blobs/:digest', () => {
  it('HEAD is 404 until the blob is pushed, then 200; a second push is 200', async () => {
    const digest = digestOf(GGUF);
    expect((await http(`/api/blobs/${digest}`, { method: 'HEAD' })).status).toBe(404);
    const pushed = await http(`/api/blobs/${digest}`, { method: 'POST', body: GGUF });
    expect(pushed.status).toBe(201);
    expect(await pushed.text()).toBe('');
    expect((await http(`/api/blobs/${digest}`, { method: 'HEAD' })).status).toBe(200);
    expect((await http(`/api/blobs/${digest}`, { method: 'POST', body: GGUF })).status).toBe(200);
    expect(fake.blobDigests()).toEqual([digest]);
  });

  it('a body that does not hash to the digest → 400 with the digest Ollama computed; a malformed digest → 400', async () => {
    const claimed = digestOf('something else');
    const mismatch = await http(`/api/blobs/${claimed}`, { method: 'POST', body: GGUF });
    expect(mismatch.status).toBe(400);
    expect(await mismatch.json()).toEqual({ error: `digest mismatch, expected "${claimed}", got "${digestOf(GGUF)}"` });
    const malformed = await http('/api/blobs/sha256:abc', { method: 'POST', body: GGUF });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({ error: 'invalid digest format' });
    expect(fake.blobDigests()).toEqual([]);
  });
});

describe('FakeOllama /api/create', () => {
  it('streams the status lines, then lists the model in /api/tags and answers chats with it', async () => {
    const digest = digestOf(GGUF);
    await http(`/api/blobs/${digest}`, { method: 'POST', body: GGUF });
    const response = await post('/api/create', { model: 'tuned', from: BASE, adapters: { 'a.gguf': digest }, system: 'Be terse.', parameters: { temperature: 0.2 } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    const statuses = (await lines(response)).map((line) => line.status);
    expect(statuses[0]).toBe('parsing GGUF');
    expect(statuses).toContain(`using existing layer ${digest}`);
    expect(statuses.slice(-2)).toEqual(['writing manifest', 'success']);

    const tags = (await (await http('/api/tags')).json()) as { models: { name: string }[] };
    expect(tags.models.map((model) => model.name)).toEqual([`${BASE}`, 'tuned:latest']);
    const chat = await post('/api/chat', { model: 'tuned', messages: [{ role: 'user', content: 'hi' }], stream: false });
    expect(chat.status).toBe(200);
    expect(((await chat.json()) as { message: { content: string } }).message.content).toBe('Echo: hi');
    expect(fake.createdModel('tuned:latest')).toEqual({ name: 'tuned:latest', from: BASE, adapters: { 'a.gguf': digest }, system: 'Be terse.', parameters: { temperature: 0.2 } });
  });

  it('stream:false answers one object', async () => {
    const response = await post('/api/create', { model: 'plain', from: BASE, stream: false });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await response.json()).toEqual({ status: 'success' });
  });

  it.each([
    ['an unknown from: the pull fails after "pulling manifest"', { model: 'x', from: 'nope:1b' }, 200, [{ status: 'pulling manifest' }, { error: 'pull model manifest: file does not exist' }]],
    ['a blob that was never pushed: an error line after "parsing GGUF"', { model: 'x', from: BASE, adapters: { 'a.gguf': digestOf('never') } }, 200, [{ status: 'parsing GGUF' }, { error: `open /root/.ollama/models/blobs/${digestOf('never').replace(':', '-')}: no such file or directory` }]],
    ['neither from nor files', { model: 'x' }, 400, { error: "neither 'from' or 'files' was specified" }],
    ['an invalid model name', { model: 'my model', from: BASE }, 400, { error: 'invalid model name' }],
    ['an empty adapter digest', { model: 'x', from: BASE, adapters: { 'a.gguf': '' } }, 400, { error: 'invalid digest format' }],
    ['two GGUF adapters', { model: 'x', from: BASE, adapters: { 'a.gguf': digestOf('a'), 'b.gguf': digestOf('b') } }, 400, { error: 'only one adapter is currently supported' }],
    ['a wrongly typed field', { model: 'x', from: BASE, adapters: ['a.gguf'] }, 400, { error: 'json: cannot unmarshal array into Go struct field CreateRequest.adapters of type map[string]string' }],
  ])('%s', async (_what, body, status, expected) => {
    const response = await post('/api/create', body);
    expect(response.status).toBe(status);
    expect(status === 200 ? await lines(response) : await response.json()).toEqual(expected);
  });

  it('stream:false turns a failure into its status: 500 for a failed pull, 400 for a missing blob', async () => {
    const pull = await post('/api/create', { model: 'x', from: 'nope:1b', stream: false });
    expect(pull.status).toBe(500);
    expect(await pull.json()).toEqual({ error: 'pull model manifest: file does not exist' });
    const blob = await post('/api/create', { model: 'x', from: BASE, adapters: { 'a.gguf': digestOf('never') }, stream: false });
    expect(blob.status).toBe(400);
  });
});

describe(OllamaModelsClient.name, () => {
  let client: OllamaModelsClient;
  beforeEach(() => (client = new OllamaModelsClient([fake.url])));
  afterEach(() => client.close());

  it('an {error} line in the create stream is a BackendError with Ollama\'s message, after the statuses before it', async () => {
    const seen: string[] = [];
    const create = async () => {
      for await (const status of client.createModel({ model: 'x', from: BASE, adapters: { 'a.gguf': digestOf('never') } })) seen.push(status);
    };
    await expect(create()).rejects.toThrow(new BackendError(`Ollama could not create x: open /root/.ollama/models/blobs/${digestOf('never').replace(':', '-')}: no such file or directory`));
    expect(seen).toEqual(['parsing GGUF']);
  });

  it('maps Ollama\'s statuses: 404 → ModelNotFoundError, 400 → BackendRejectedError', async () => {
    await expect(client.showModel('nope')).rejects.toThrow(new ModelNotFoundError("model 'nope' not found"));
    await expect(client.pushBlob(digestOf('claimed'), Readable.from([GGUF]), GGUF.length)).rejects.toThrow(BackendRejectedError);
    await expect(client.showModel(BASE)).resolves.toBeUndefined();
    expect(await client.hasBlob(digestOf(GGUF))).toBe(false);
  });
});
