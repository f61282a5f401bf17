export { createTollgate } from './runtime.js';
export { attachTollgate } from './threads/attach.js';
export type { AttachOptions } from './threads/attach.js';
export type { TollgateShare, WorkerSettings } from './threads/protocol.js';
export type {
  Tollgate,
  CheckOptions,
  ConsumeOptions,
  ReserveResult,
  SettleResult,
} from './tollgate.js';
export type { TollgateOptions } from './options.js';
export type { Reservation, ReservationOutcome } from './reservations.js';
export type { UsageStats, RetryOptions } from './usage-batcher.js';
export type { UsageEvent, UsageAck } from './control-plane-client.js';
export { channelNames } from './diagnostics.js';
export type { ChannelName, TollgateLogger } from './diagnostics.js';
// The framework-neutral HTTP pieces the adapters share (see src/http/index.ts).
export * from './http/index.js';
