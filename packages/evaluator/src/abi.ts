import { TollgateError } from '@tollgate/core';
import { ID_BYTES_MAX, SNAPSHOT_FORMAT_VERSION } from '@tollgate/snapshot';

/** The ABI this host speaks; `assembly/src/index.ts` exports the same number. */
export const ABI_VERSION = 3;

/** The exports of the evaluator module, as `assembly/src/index.ts` declares them. */
export interface EvaluatorExports {
  memory: WebAssembly.Memory;
  _start?: () => void;
  tg_abi_version(): number;
  tg_format_version(): number;
  tg_id_bytes_max(): number;
  tg_batch_capacity(): number;
  tg_thread_slots(): number;
  tg_control_block(): number;
  tg_attach(slot: number): number;
  tg_generation(): number;
  tg_id_buffer(): number;
  tg_result_buffer(): number;
  tg_batch_buffer(part: number): number;
  tg_stage(byteLength: number, customers: number, features: number, currencies: number): number;
  tg_load(): number;
  tg_load_step(budget: number): number;
  tg_activate(): number;
  tg_snapshot_version(): number;
  tg_created_at_ms(): number;
  tg_usage_watermark(): number;
  tg_customer_count(): number;
  tg_customer_handle(idLength: number): number;
  tg_decide(op: number, handle: number, feature: number, quantity: number, nowMs: number): number;
  tg_release(handle: number, feature: number, quantity: number, nowMs: number): void;
  tg_settle(handle: number, feature: number, held: number, actual: number, nowMs: number): number;
  tg_record(handle: number, feature: number, quantity: number, nowMs: number): void;
  tg_check_batch(count: number, nowMs: number): void;
}

const requiredFunctions = [
  'tg_abi_version',
  'tg_format_version',
  'tg_id_bytes_max',
  'tg_batch_capacity',
  'tg_thread_slots',
  'tg_control_block',
  'tg_attach',
  'tg_generation',
  'tg_id_buffer',
  'tg_result_buffer',
  'tg_batch_buffer',
  'tg_stage',
  'tg_load',
  'tg_load_step',
  'tg_activate',
  'tg_snapshot_version',
  'tg_created_at_ms',
  'tg_usage_watermark',
  'tg_customer_count',
  'tg_customer_handle',
  'tg_decide',
  'tg_release',
  'tg_settle',
  'tg_record',
  'tg_check_batch',
] as const;

function mismatch(detail: string): TollgateError {
  return new TollgateError(
    'TOLLGATE_ERR_ABI_MISMATCH',
    'the Wasm evaluator does not match this host; rebuild both from one release',
    { detail },
  );
}

/**
 * Refuses a module this host does not know: a missing export, another ABI version,
 * another snapshot format, or limits that differ from the ones the host assumes.
 * Throws `TOLLGATE_ERR_ABI_MISMATCH`.
 */
export function assertEvaluatorAbi(exports: WebAssembly.Exports): EvaluatorExports {
  if (!(exports['memory'] instanceof WebAssembly.Memory)) throw mismatch('no exported memory');
  for (const name of requiredFunctions) {
    if (typeof exports[name] !== 'function') throw mismatch(`missing export ${name}`);
  }
  const checked = exports as unknown as EvaluatorExports;
  const abiVersion = checked.tg_abi_version();
  if (abiVersion !== ABI_VERSION) {
    throw mismatch(`module ABI version ${abiVersion}, host ABI version ${ABI_VERSION}`);
  }
  if (checked.tg_format_version() !== SNAPSHOT_FORMAT_VERSION) {
    throw mismatch(`module reads snapshot format ${checked.tg_format_version()}`);
  }
  if (checked.tg_id_bytes_max() !== ID_BYTES_MAX || checked.tg_batch_capacity() < 1) {
    throw mismatch('module limits differ from the host limits');
  }
  return checked;
}

/** Status codes of `tg_load`, as `assembly/src/reasons.ts` numbers them. */
const loadStatusDetail = [
  'ok',
  'nothing staged',
  'truncated',
  'bad magic',
  'unsupported format version',
  'section bounds out of range',
  'counts differ from the staged counts',
  'a row holds a value out of range',
  'checks still in progress',
];

export const LOAD_OK = 0;
export const LOAD_UNSUPPORTED = 4;
/** `tg_load_step` answers this while rows remain to be checked. */
export const LOAD_IN_PROGRESS = 8;

/** The coded error for a failed `tg_load`. */
export function loadError(status: number): TollgateError {
  const detail = loadStatusDetail[status] ?? `status ${status}`;
  if (status === LOAD_UNSUPPORTED) {
    return new TollgateError('TOLLGATE_ERR_SNAPSHOT_UNSUPPORTED', 'unsupported snapshot format', {
      detail,
    });
  }
  return new TollgateError('TOLLGATE_ERR_SNAPSHOT_CORRUPT', `snapshot corrupt: ${detail}`, {
    detail: `tg_load: ${detail}`,
  });
}
