import 'reflect-metadata';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClientClosedError, InvalidInputError } from '../../src/common/errors/app-errors';
import { loadConfig } from '../../src/config/app-config';
import { PersistenceModule } from '../../src/core/persistence/persistence.module';
import { ConfigModule } from '../../src/config/config.module';
import { EvaluationModule } from '../../src/modules/evaluation/evaluation.module';
import { EvaluationService } from '../../src/modules/evaluation/evaluation.service';
import { FakeOllama } from '../support/fake-ollama';
import { tempDir } from '../support/test-app';

/**
 * The service as another command (`vega train register`) uses it: a Nest context with the
 * configuration and EvaluationModule only, the real LlmService, the fake Ollama over HTTP.
 */
describe(EvaluationService.name, () => {
  let peak = 0;
  const fake = new FakeOllama({
    models: ['mistral', 'tuned'],
    tokenDelayMs: 20,
    reply: (req) => {
      peak = Math.max(peak, fake.inFlight());
      return `answer to ${String(req.messages!.at(-1)!.content)}`;
    },
  });
  let temp: ReturnType<typeof tempDir>;
  let context: INestApplicationContext;
  let evaluation: EvaluationService;
  let evalFile: string;

  beforeAll(async () => {
    await fake.start();
  });
  afterAll(async () => {
    await fake.stop();
  });
  beforeEach(async () => {
    temp = tempDir('vega-evaluation-');
    const promptFile = join(temp.dir, 'system.txt');
    writeFileSync(promptFile, 'The configured prompt.');
    evalFile = join(temp.dir, 'eval.jsonl');
    writeFileSync(evalFile, Array.from({ length: 6 }, (_, i) => JSON.stringify({ prompt: `q${i}`, expected: `answer to q${i}` })).join('\n'));
    const config = loadConfig({ VEGA_DATA_DIR: temp.dir, OLLAMA_URL: fake.url, SYSTEM_PROMPT_FILE: promptFile, LOG_LEVEL: 'fatal', LLM_RETRY_BACKOFF: '0.01' });
    @Module({ imports: [ConfigModule.forRoot(config), PersistenceModule.forRoot(config.database), EvaluationModule] })
    class TestRoot {}
    context = await NestFactory.createApplicationContext(TestRoot, { logger: false });
    evaluation = context.get(EvaluationService);
    peak = 0;
  });
  afterEach(async () => {
    await context.close();
    fake.reset();
    temp.remove();
  });

  describe('evaluateFile', () => {
    it('evaluates a given model without a system prompt (null), keeping at most `concurrency` calls in flight', async () => {
      const progress: number[] = [];
      const report = await evaluation.evaluateFile(evalFile, { model: 'tuned', systemPrompt: null, concurrency: 2, onProgress: (done) => progress.push(done) });
      expect(report).toMatchObject({ model: 'tuned', system_prompt: null, concurrency: 2, summary: { items: 6, answered: 6, mean: 1 } });
      expect(progress).toEqual([1, 2, 3, 4, 5, 6]);
      expect(peak).toBeLessThanOrEqual(2);
      expect(peak).toBe(2);
      for (const request of fake.chatRequests()) {
        expect(request.body.model).toBe('tuned');
        expect(request.body.messages).toHaveLength(1);
      }
      expect(evaluation.defaultRunsDir).toBe(join(temp.dir, 'runs'));
    });

    it('sends the configured SYSTEM_PROMPT_FILE by default, first, as the API does', async () => {
      const report = await evaluation.evaluateFile(evalFile, { concurrency: 1 });
      expect(report.system_prompt).toMatchObject({ text: 'The configured prompt.', length: 22 });
      expect(fake.chatRequests()[0].body.messages).toEqual([
        { role: 'system', content: 'The configured prompt.' },
        { role: 'user', content: 'q0' },
      ]);
    });

    it('stops the run when the signal aborts: the calls in flight are cancelled, ClientClosedError', async () => {
      const controller = new AbortController();
      const run = evaluation.evaluateFile(evalFile, { concurrency: 2, signal: controller.signal });
      await fake.waitForRequests(1);
      controller.abort();
      await expect(run).rejects.toBeInstanceOf(ClientClosedError);
      await fake.waitForAbort(0);
    });

    it.each([0, 65, 1.5])('refuses concurrency %p', async (concurrency) => {
      await expect(evaluation.evaluateFile(evalFile, { concurrency })).rejects.toBeInstanceOf(InvalidInputError);
      expect(fake.chatRequests()).toHaveLength(0);
    });
  });
});
