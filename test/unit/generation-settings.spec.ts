import { buildOptions, dynamicSampling } from '../../src/core/llm/generation-settings';

const base = {
  temperature: 0.7,
  top_p: 0.9,
  top_k: 40,
  repeat_penalty: 1.1,
  presence_penalty: 0,
  frequency_penalty: 0,
  dynamic: false,
};

describe('dynamicSampling', () => {
  it('leaves a short neutral prompt as configured', () => {
    expect(dynamicSampling('What is the capital of France?', base)).toEqual({ temperature: 0.7, top_p: 0.9 });
  });

  it.each([
    ['Write a short story about a lighthouse', 0.95, 0.95],
    ['Brainstorm ideas for a birthday party', 0.95, 0.95],
    ['Give a concise, factual answer: boiling point of water?', 0.4, 0.8],
    ['Answer precisely and exactly', 0.4, 0.8],
  ])('adjusts for intent words: %s', (prompt, temperature, topP) => {
    expect(dynamicSampling(prompt, base)).toEqual({ temperature, top_p: topP });
  });

  it('cools long prompts, more so the longer they are', () => {
    const medium = dynamicSampling('word '.repeat(150), base);
    const long = dynamicSampling('word '.repeat(600), base);
    expect(medium.temperature).toBe(0.6);
    expect(long.temperature).toBe(0.5);
  });

  it('cancels out when a prompt asks for both creativity and precision', () => {
    expect(dynamicSampling('a creative but precise poem', base)).toEqual({ temperature: 0.7, top_p: 0.9 });
  });

  it('stays within sane bounds', () => {
    expect(dynamicSampling('creative story', { temperature: 1.5, top_p: 1 }).temperature).toBe(1.5);
    expect(dynamicSampling('concise '.repeat(500), { temperature: 0.1, top_p: 0.1 })).toEqual({ temperature: 0.05, top_p: 0.1 });
  });
});

describe('buildOptions', () => {
  it('maps the settings to Ollama options', () => {
    expect(buildOptions(base, 'story time')).toEqual({
      temperature: 0.7,
      top_p: 0.9,
      top_k: 40,
      repeat_penalty: 1.1,
      presence_penalty: 0,
      frequency_penalty: 0,
    });
  });

  it('applies the heuristic only when dynamic is on', () => {
    expect(buildOptions({ ...base, dynamic: true }, 'tell me a story').temperature).toBe(0.95);
  });

  it('lets the request options win over everything', () => {
    const options = buildOptions({ ...base, dynamic: true }, 'tell me a story', { temperature: 0, num_predict: 5 });
    expect(options).toMatchObject({ temperature: 0, num_predict: 5, top_k: 40 });
  });
});
