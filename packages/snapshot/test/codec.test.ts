import { describe, expect, it } from 'vitest';
import { FeatureKind, LimitBehavior } from '@tollgate/core';
import {
  ENTITLEMENT_ROW_SIZE,
  Header,
  decodeSnapshot,
  encodeSnapshot,
  fnv1a32,
  indexSlotCountFor,
  verifySnapshot,
} from '../src/index.js';
import type { SnapshotInput } from '../src/index.js';
import { sampleSnapshot } from './fixtures.js';

function expectValidation(input: SnapshotInput, field: string): void {
  expect(() => encodeSnapshot(input)).toThrow(
    expect.objectContaining({ code: 'TOLLGATE_ERR_VALIDATION', field }),
  );
}

describe('encodeSnapshot and decodeSnapshot', () => {
  it('decodes exactly what was encoded, including unlimited and ±(2^53 − 1)', () => {
    const input = sampleSnapshot();
    expect(decodeSnapshot(encodeSnapshot(input))).toEqual(input);
  });

  it('round-trips an empty snapshot', () => {
    const input: SnapshotInput = {
      snapshotVersion: 1,
      createdAtMs: 0,
      usageWatermark: 0,
      currencies: [],
      features: [],
      customers: [],
    };
    const bytes = encodeSnapshot(input);
    expect(bytes.length).toBe(96 + 8 * 4);
    expect(decodeSnapshot(bytes)).toEqual(input);
  });

  it('reports the header: counts, versions and 8-aligned sections', () => {
    const header = verifySnapshot(encodeSnapshot(sampleSnapshot()));
    expect(header).toMatchObject({
      formatVersion: 2,
      snapshotVersion: 42,
      usageWatermark: 9001,
      currencyCount: 2,
      featureCount: 5,
      customerCount: 2,
      indexSlotCount: 8,
    });
    for (const offset of Object.values(header.sections)) expect(offset % 8).toBe(0);
    expect(header.sections.balances - header.sections.entitlements).toBe(
      2 * 5 * ENTITLEMENT_ROW_SIZE,
    );
  });

  it('sizes the index at a power of two with at least two slots per customer', () => {
    expect(indexSlotCountFor(0)).toBe(8);
    expect(indexSlotCountFor(4)).toBe(8);
    expect(indexSlotCountFor(5)).toBe(16);
    expect(indexSlotCountFor(1_000_000)).toBe(2_097_152);
  });

  it('hashes ids with FNV-1a 32-bit', () => {
    expect(fnv1a32(new Uint8Array())).toBe(0x811c9dc5);
    expect(fnv1a32(new TextEncoder().encode('a'))).toBe(0xe40c292c);
    expect(fnv1a32(new TextEncoder().encode('foobar'))).toBe(0xbf9cf968);
  });

  it('stores the magic and format version at the start', () => {
    const view = new DataView(encodeSnapshot(sampleSnapshot()).buffer);
    expect(view.getUint32(Header.magic, true)).toBe(0x4e534754);
    expect(view.getUint16(Header.formatVersion, true)).toBe(2);
  });
});

describe('encodeSnapshot invariants', () => {
  it('refuses duplicate customer ids', () => {
    const input = sampleSnapshot();
    (input.customers[1] as { id: string }).id = 'cus_acme';
    expectValidation(input, 'customers[1].id');
  });

  it('refuses a customer without one entitlement per feature', () => {
    const input = sampleSnapshot();
    input.customers[0]?.entitlements.pop();
    expectValidation(input, 'customers[0].entitlements');
  });

  it('refuses amounts that are not safe integers', () => {
    const input = sampleSnapshot();
    const entitlement = input.customers[0]?.entitlements[2];
    if (entitlement !== undefined) entitlement.used = 2 ** 53;
    expectValidation(input, 'customers[0].entitlements[2].used');
    const fractional = sampleSnapshot();
    const balance = fractional.customers[1]?.balances[0];
    if (balance !== undefined) balance.balance = 1.5;
    expectValidation(fractional, 'customers[1].balances[0].balance');
  });

  it('refuses a credits feature whose currency does not exist', () => {
    const input = sampleSnapshot();
    input.features[3] = { ...(input.features[3] as SnapshotInput['features'][number]) };
    (input.features[3] as { currencyIndex: number }).currencyIndex = 2;
    expectValidation(input, 'features[3].currencyIndex');
  });

  it('refuses ids that are not identifiers, and unknown kinds and behaviors', () => {
    const badId = sampleSnapshot();
    (badId.customers[0] as { id: string }).id = 'has space';
    expectValidation(badId, 'customers[0].id');
    const badKind = sampleSnapshot();
    (badKind.features[0] as { kind: FeatureKind }).kind = 9 as FeatureKind;
    expectValidation(badKind, 'features[0].kind');
    const badBehavior = sampleSnapshot();
    const entitlement = badBehavior.customers[0]?.entitlements[0];
    if (entitlement !== undefined) entitlement.behavior = 2 as LimitBehavior;
    expectValidation(badBehavior, 'customers[0].entitlements[0].behavior');
  });
});
