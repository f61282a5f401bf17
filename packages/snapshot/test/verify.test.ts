import { describe, expect, it } from 'vitest';
import { isTollgateError } from '@tollgate/core';
import { Header, decodeSnapshot, encodeSnapshot, verifySnapshot } from '../src/index.js';
import { resealed, sampleSnapshot } from './fixtures.js';

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (isTollgateError(error)) return error.code;
    throw error;
  }
  return 'no error';
}

describe('verifySnapshot', () => {
  const bytes = encodeSnapshot(sampleSnapshot());

  it('refuses every single flipped byte with a coded error', () => {
    for (let offset = 0; offset < bytes.length; offset++) {
      const damaged = bytes.slice();
      damaged[offset] = (damaged[offset] as number) ^ 0x5a;
      const expected =
        offset === Header.formatVersion || offset === Header.formatVersion + 1
          ? 'TOLLGATE_ERR_SNAPSHOT_UNSUPPORTED'
          : 'TOLLGATE_ERR_SNAPSHOT_CORRUPT';
      expect(
        codeOf(() => verifySnapshot(damaged)),
        `byte ${offset}`,
      ).toBe(expected);
    }
  });

  it('refuses a truncated snapshot at any length', () => {
    for (const length of [0, 10, 95, 96, bytes.length - 1]) {
      expect(codeOf(() => verifySnapshot(bytes.subarray(0, length)))).toBe(
        'TOLLGATE_ERR_SNAPSHOT_CORRUPT',
      );
    }
  });

  it('names the failure in the message', () => {
    const damaged = bytes.slice();
    damaged[200] = (damaged[200] as number) ^ 1;
    expect(() => verifySnapshot(damaged)).toThrow('checksum mismatch');
    expect(() => verifySnapshot(bytes.subarray(0, 100))).toThrow('truncated');
    const magic = bytes.slice();
    magic[0] = 0;
    expect(() => verifySnapshot(magic)).toThrow('bad magic');
  });

  it('refuses another format version, older (1) or newer (3), as unsupported', () => {
    for (const version of [1, 3]) {
      const other = bytes.slice();
      new DataView(other.buffer).setUint16(Header.formatVersion, version, true);
      expect(codeOf(() => verifySnapshot(resealed(other)))).toBe(
        'TOLLGATE_ERR_SNAPSHOT_UNSUPPORTED',
      );
    }
  });

  it('refuses section offsets out of place even with a valid checksum', () => {
    const moved = bytes.slice();
    new DataView(moved.buffer).setUint32(Header.balancesOffset, bytes.length + 64, true);
    const sealed = resealed(moved);
    expect(() => verifySnapshot(sealed)).toThrow('section bounds out of range');
    const slots = bytes.slice();
    new DataView(slots.buffer).setUint32(Header.indexSlotCount, 12, true);
    expect(() => verifySnapshot(resealed(slots))).toThrow('section bounds out of range');
  });
});

describe('decodeSnapshot', () => {
  it('refuses a row value out of range even with a valid checksum', () => {
    const bytes = encodeSnapshot(sampleSnapshot());
    const header = verifySnapshot(bytes);
    const damaged = bytes.slice();
    damaged[header.sections.entitlements] = 2; // access must be 0 or 1
    const sealed = resealed(damaged);
    expect(codeOf(() => decodeSnapshot(sealed))).toBe('TOLLGATE_ERR_SNAPSHOT_CORRUPT');
  });

  it('refuses an index that loses a customer', () => {
    const bytes = encodeSnapshot(sampleSnapshot());
    const header = verifySnapshot(bytes);
    const damaged = bytes.slice();
    damaged.fill(0, header.sections.index, header.sections.customers);
    const sealed = resealed(damaged);
    expect(() => decodeSnapshot(sealed)).toThrow('customer index count mismatch');
  });
});
