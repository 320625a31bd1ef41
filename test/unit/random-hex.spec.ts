import { randomHex } from '../../src/common/ids/random-hex';

describe('randomHex', () => {
  it('returns the requested number of bytes as lowercase hex', () => {
    expect(randomHex(8)).toMatch(/^[0-9a-f]{16}$/);
    expect(randomHex(1)).toMatch(/^[0-9a-f]{2}$/);
    expect(randomHex(5000)).toMatch(/^[0-9a-f]{10000}$/);
  });

  it('never repeats across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i += 1) seen.add(randomHex(8)); // ~10 refills of the 4 KB pool
    expect(seen.size).toBe(5000);
  });

  it('draws every hex digit about equally often', () => {
    const counts = new Map<string, number>();
    const sample = Array.from({ length: 2000 }, () => randomHex(8)).join('');
    for (const digit of sample) counts.set(digit, (counts.get(digit) ?? 0) + 1);
    expect(counts.size).toBe(16);
    const expected = sample.length / 16; // 2,000 per digit
    for (const count of counts.values()) expect(Math.abs(count - expected)).toBeLessThan(expected * 0.15);
  });
});
