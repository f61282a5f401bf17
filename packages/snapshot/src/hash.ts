/**
 * FNV-1a, 32-bit, over the UTF-8 bytes of a customer id. The Wasm evaluator computes the
 * same hash over the bytes the host wrote into its scratch buffer, so both must agree on
 * every byte: see `assembly/src/lookup.ts`.
 */
export function fnv1a32(bytes: Uint8Array, length = bytes.length): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < length; index++) {
    hash = Math.imul(hash ^ (bytes[index] as number), 0x01000193);
  }
  return hash >>> 0;
}
