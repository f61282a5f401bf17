import { describe, expect, it } from 'vitest';
import { displayAmount } from '../src/index.js';

describe('displayAmount', () => {
  it('places the decimal point display_scale digits from the right', () => {
    expect(displayAmount(1_500_000, 6)).toBe('1.500000');
    expect(displayAmount(100_000, 6)).toBe('0.100000');
    expect(displayAmount(7, 3)).toBe('0.007');
    expect(displayAmount(-5, 2)).toBe('-0.05');
    expect(displayAmount(0, 6)).toBe('0.000000');
    expect(displayAmount(42, 0)).toBe('42');
  });

  it('renders 2^53 - 1 exactly, which a division by 10^6 would round', () => {
    expect(displayAmount(Number.MAX_SAFE_INTEGER, 6)).toBe('9007199254.740991');
    expect(displayAmount(Number.MIN_SAFE_INTEGER, 18)).toBe('-0.009007199254740991');
  });

  it('refuses a fraction, an unsafe integer or a scale outside 0 to 18', () => {
    expect(() => displayAmount(1.5, 2)).toThrow(RangeError);
    expect(() => displayAmount(2 ** 53, 2)).toThrow(RangeError);
    expect(() => displayAmount(1, 19)).toThrow(RangeError);
  });
});
