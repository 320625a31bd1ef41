import { createHash } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SystemPromptService } from '../../src/core/llm/system-prompt.service';
import { startTestApp, tempDir, TestApp, useAppWithFakeOllama } from '../support/test-app';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('system prompt reload', () => {
  const { fake, start } = useAppWithFakeOllama();
  let files: ReturnType<typeof tempDir>;
  let promptFile: string;
  beforeEach(() => {
    files = tempDir('vega-prompt-');
    promptFile = join(files.dir, 'system_prompt.txt');
    writeFileSync(promptFile, 'You are the first prompt.\n');
  });
  afterEach(() => files.remove());

  /** The system message the fake backend received for a new chat. */
  async function systemSent(t: TestApp): Promise<string | undefined> {
    const before = fake.chatRequests().length;
    const res = await t.request('/chat', { body: { prompt: `which prompt? ${before}` } });
    expect(res.status).toBe(200);
    const messages = fake.chatRequests()[before].body.messages as { role: string; content: string }[];
    return messages.find((message) => message.role === 'system')?.content;
  }

  async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((wait) => setTimeout(wait, 25));
    }
  }

  describe('POST /admin/system-prompt/reload', () => {
    it('answers what is loaded: the file, length and SHA-256; the next chats use the new text', async () => {
      const t = await start({ SYSTEM_PROMPT_FILE: promptFile });
      const first = await t.request('/admin/system-prompt/reload', { method: 'POST' });
      expect(first.status).toBe(200);
      expect(await first.json()).toEqual({ file: promptFile, length: 25, sha256: sha('You are the first prompt.'), changed: false });

      writeFileSync(promptFile, '  You are the second prompt.  \n');
      const second = await t.request('/admin/system-prompt/reload', { method: 'POST' });
      expect(second.status).toBe(200);
      // `changed` depends on whether the file watch got there first; what is loaded does not.
      expect(await second.json()).toMatchObject({ file: promptFile, length: 26, sha256: sha('You are the second prompt.') });
      expect(await systemSent(t)).toBe('You are the second prompt.');
    });

    it('keeps the previous prompt and answers 500 with the reason when the file cannot be read', async () => {
      const t = await start({ SYSTEM_PROMPT_FILE: promptFile });
      rmSync(promptFile);
      const res = await t.request('/admin/system-prompt/reload', { method: 'POST' });
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({
        statusCode: 500,
        error: 'Internal Server Error',
        message: `SYSTEM_PROMPT_FILE cannot be read (${promptFile}: ENOENT); the previous system prompt (25 chars) stays in use`,
      });
      expect(await systemSent(t)).toBe('You are the first prompt.');
    });

    it('answers nulls when no SYSTEM_PROMPT_FILE is configured', async () => {
      const t = await start();
      const res = await t.request('/admin/system-prompt/reload', { method: 'POST' });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ file: null, length: 0, sha256: null, changed: false });
    });

    it('needs the API key', async () => {
      const t = await start({ SYSTEM_PROMPT_FILE: promptFile });
      expect((await t.request('/admin/system-prompt/reload', { method: 'POST', key: null })).status).toBe(401);
    });

    it('is documented in the OpenAPI document with its answer and errors', async () => {
      const t = await start();
      const document = await (await t.request('/docs-json', { key: null })).json();
      const route = document.paths['/admin/system-prompt/reload'].post;
      expect(route.summary).toMatch(/Reload the system prompt/);
      expect(Object.keys(route.responses)).toEqual(expect.arrayContaining(['200', '401', '500']));
      expect(document.components.schemas.SystemPromptReloadResponseDto.required).toEqual(['file', 'length', 'sha256', 'changed']);
    });
  });

  describe('file watch', () => {
    it('picks up an edit in place and a rename over the file, without a request', async () => {
      const t = await start({ SYSTEM_PROMPT_FILE: promptFile });
      const prompts = t.app.get(SystemPromptService);

      writeFileSync(promptFile, 'Edited in place.\n');
      await until(() => prompts.get() === 'Edited in place.', 'the in-place edit');
      expect(await systemSent(t)).toBe('Edited in place.');

      // What editors and `optimize-prompt --apply` do: write another file, rename it over.
      const temp = join(files.dir, '.system_prompt.txt.tmp');
      writeFileSync(temp, 'Replaced by rename.\n');
      renameSync(temp, promptFile);
      await until(() => prompts.get() === 'Replaced by rename.', 'the rename-replace');
      expect(await systemSent(t)).toBe('Replaced by rename.');

      // A replacement still works after the first one (the watch is on the directory, not the old inode).
      writeFileSync(temp, 'Replaced again.\n');
      renameSync(temp, promptFile);
      await until(() => prompts.get() === 'Replaced again.', 'the second rename-replace');
    });

    it('ignores other files in the directory and keeps the prompt while the file is gone', async () => {
      const t = await start({ SYSTEM_PROMPT_FILE: promptFile });
      const prompts = t.app.get(SystemPromptService);
      writeFileSync(join(files.dir, 'notes.txt'), 'not the prompt');
      rmSync(promptFile);
      await new Promise((wait) => setTimeout(wait, 400));
      expect(prompts.get()).toBe('You are the first prompt.');
      writeFileSync(promptFile, 'Back again.\n');
      await until(() => prompts.get() === 'Back again.', 'the file to come back');
    });

    it('stops watching on shutdown', async () => {
      // Its own app (not the per-test one), closed here.
      const t = await startTestApp({ OLLAMA_URL: fake.url, SYSTEM_PROMPT_FILE: promptFile });
      const prompts = t.app.get(SystemPromptService);
      await t.close();
      writeFileSync(promptFile, 'Changed after shutdown.\n');
      await new Promise((wait) => setTimeout(wait, 400));
      expect(prompts.get()).toBe('You are the first prompt.');
    });
  });
});
