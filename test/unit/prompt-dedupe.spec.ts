import { normalisePrompt, PromptDeduper } from '../../src/modules/datasets/prompt-dedupe';

describe('normalisePrompt', () => {
  it.each([
    ['What is WAL mode?', 'what is wal mode'],
    ['  what   is\tWAL\n\nmode  ', 'what is wal mode'],
    ['What is WAL mode?!...', 'what is wal mode'],
    ["Don't stop", 'dont stop'],
    ['«Quoted» — “text”', 'quoted text'],
    // NFKC: full-width letters and the "ﬁ" ligature fold to plain ASCII.
    ['ＷＡＬ ﬁle', 'wal file'],
    // Symbols are not punctuation: they change the question.
    ['2+2=4 costs $5', '2+2=4 costs $5'],
    ['ÉCOLE', 'école'],
    ['', ''],
  ])('%j → %j', (input, expected) => {
    expect(normalisePrompt(input)).toBe(expected);
  });
});

describe(PromptDeduper.name, () => {
  it('accepts a prompt once, and refuses its exact and near duplicates', () => {
    const deduper = new PromptDeduper();
    expect(deduper.firstSeen('What is WAL mode?')).toBe(true);
    expect(deduper.firstSeen('What is WAL mode?')).toBe(false);
    expect(deduper.firstSeen('  what is wal MODE ')).toBe(false);
    expect(deduper.firstSeen('what, is wal mode!!')).toBe(false);
    expect(deduper.firstSeen('What is WAL mode for?')).toBe(true);
    expect(deduper.size).toBe(2);
  });

  it('keeps a fixed-size hash per distinct prompt, not the text', () => {
    const deduper = new PromptDeduper();
    const long = 'x'.repeat(100_000);
    expect(deduper.firstSeen(long)).toBe(true);
    expect(deduper.firstSeen(`${long} `)).toBe(false);
    const keys = [...(deduper as unknown as { seen: Set<string> }).seen];
    expect(keys).toHaveLength(1);
    expect(keys[0]).toHaveLength(22);
  });
});
