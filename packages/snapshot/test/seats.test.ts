import { describe, expect, it } from 'vitest';
import {
  Header,
  decodeSeatHolders,
  decodeSnapshot,
  encodeSnapshot,
  verifySnapshot,
} from '../src/index.js';
import type { SnapshotInput } from '../src/index.js';
import { resealed, sampleSnapshot } from './fixtures.js';

function withHolders(holders: string[]): SnapshotInput {
  const input = sampleSnapshot();
  input.customers[1]!.seatHolders = holders;
  return input;
}

describe('seat section', () => {
  it('carries each customer’s seat holders, sorted, and counts them in the header', () => {
    const input = withHolders(['carol']);
    const bytes = encodeSnapshot(input);
    const header = verifySnapshot(bytes);
    expect(header.seatCount).toBe(3);
    expect(header.sections.strings - header.sections.seats).toBe(48);
    expect(decodeSnapshot(bytes).customers.map((customer) => customer.seatHolders)).toEqual([
      ['alice', 'bob:eu'],
      ['carol'],
    ]);
    expect(decodeSeatHolders(bytes, header)).toEqual(
      new Map([
        ['cus_acme', new Set(['alice', 'bob:eu'])],
        ['cus_beta:eu', new Set(['carol'])],
      ]),
    );
  });

  it('omits seatHolders for a customer whose seats nobody holds', () => {
    const input = sampleSnapshot();
    delete input.customers[0]!.seatHolders;
    const bytes = encodeSnapshot(input);
    expect(verifySnapshot(bytes).seatCount).toBe(0);
    expect(decodeSnapshot(bytes)).toEqual(input);
  });

  it('refuses holders out of order, repeated or not identifiers, naming the field', () => {
    const cases: [string[], string][] = [
      [['bob', 'alice'], 'customers[1].seatHolders[1]'],
      [['alice', 'alice'], 'customers[1].seatHolders[1]'],
      [['al ice'], 'customers[1].seatHolders[0]'],
    ];
    for (const [holders, field] of cases) {
      expect(() => encodeSnapshot(withHolders(holders))).toThrow(
        expect.objectContaining({ code: 'TOLLGATE_ERR_VALIDATION', field }),
      );
    }
  });

  it('refuses a seat row naming a customer past the records', () => {
    const bytes = encodeSnapshot(sampleSnapshot());
    const view = new DataView(bytes.buffer);
    view.setUint32(view.getUint32(Header.seatsOffset, true), 2, true);
    expect(() => decodeSnapshot(resealed(bytes))).toThrow(
      expect.objectContaining({ code: 'TOLLGATE_ERR_SNAPSHOT_CORRUPT' }),
    );
  });
});
