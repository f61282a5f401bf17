// Customer lookup: FNV-1a (32-bit) over the id's UTF-8 bytes, which the host wrote into
// the id buffer, then linear probing in the open-addressing index. A slot holds the
// record index + 1, and 0 marks an empty slot, which ends the probe.
//
// ╒════ index (slots = power of two ≥ 2 × customers) ════╕
// │ 0 │ 3 │ 0 │ 1 │ 2 │ 0 │ ... │   u32 each
// └──────────────────────────────────────────────────────┘

import * as L from './layout';
import * as S from './snapshot';

function fnv1a32(bytes: usize, length: u32): u32 {
  let hash: u32 = 0x811c9dc5;
  for (let index: u32 = 0; index < length; index++) {
    hash = (hash ^ (<u32>load<u8>(bytes + index))) * 0x01000193;
  }
  return hash;
}

function bytesEqual(a: usize, b: usize, length: u32): bool {
  let index: u32 = 0;
  // Eight bytes at a time first: ids are short, but most are longer than eight.
  while (index + 8 <= length) {
    if (load<u64>(a + index) != load<u64>(b + index)) return false;
    index += 8;
  }
  while (index < length) {
    if (load<u8>(a + index) != load<u8>(b + index)) return false;
    index++;
  }
  return true;
}

/** The record index of the customer whose id is in `idBytes`, or −1 when unknown. */
export function findCustomer(idBytes: usize, length: u32): i32 {
  if (S.customerCount == 0 || length == 0 || length > L.ID_BYTES_MAX) return -1;
  let slot = fnv1a32(idBytes, length) & S.slotMask;
  // The table is at most half full, so an empty slot ends the probe; the bound is a guard.
  for (let probes: u32 = 0; probes <= S.slotMask; probes++) {
    const value = load<u32>(S.indexAt + ((<usize>slot) << 2));
    if (value == 0) return -1;
    const record = S.customersAt + <usize>(value - 1) * L.CUSTOMER_RECORD_SIZE;
    if (load<u32>(record, L.C_ID_LENGTH) == length) {
      if (bytesEqual(S.snapshotBase + load<u32>(record), idBytes, length)) return <i32>(value - 1);
    }
    slot = (slot + 1) & S.slotMask;
  }
  return -1;
}
