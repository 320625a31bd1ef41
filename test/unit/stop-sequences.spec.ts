import { StopSequenceWatch } from '../../src/modules/chat/stop-sequences';

/** Feeds the pieces one by one: what was handed on, and the sequence hit (if any). */
function run(sequences: string[], pieces: string[]): { text: string; hit?: string } {
  const watch = new StopSequenceWatch(sequences);
  let text = '';
  for (const piece of pieces) {
    const seen = watch.push(piece);
    text += seen.text;
    if (seen.hit) return { text, hit: seen.hit };
  }
  return { text: text + watch.flush() };
}

describe(StopSequenceWatch.name, () => {
  it('cuts before a sequence within one piece', () => {
    expect(run(['END'], ['abc END def'])).toEqual({ text: 'abc ', hit: 'END' });
  });

  it('finds a sequence split across pieces, holding back only what could begin it', () => {
    const watch = new StopSequenceWatch(['two three']);
    expect(watch.push('one tw')).toEqual({ text: 'one ' });
    expect(watch.push('o thr')).toEqual({ text: '' });
    expect(watch.push('ee four')).toEqual({ text: '', hit: 'two three' });
  });

  it('hands the held text on once it can no longer begin a sequence, and at the end', () => {
    expect(run(['two three'], ['one tw', 'o thrice', ' two'])).toEqual({ text: 'one two thrice two' });
  });

  it('with several sequences, the one finished first wins', () => {
    expect(run(['later', 'soon'], ['it is soon, not later'])).toEqual({ text: 'it is ', hit: 'soon' });
    expect(run(['bc', 'abcd'], ['xab', 'cd'])).toEqual({ text: 'xa', hit: 'bc' });
  });

  it('a piece that is all prefix is held whole; a repeated prefix character keeps the longest possible start', () => {
    expect(run(['aab'], ['a', 'a', 'a', 'b'])).toEqual({ text: 'a', hit: 'aab' });
  });
});
