import diagnosticsChannel from 'node:diagnostics_channel';

/**
 * The diagnostics channels the runtime publishes on. Libraries emit, applications log:
 * subscribe with `diagnostics_channel.subscribe(name, handler)` to observe them.
 *
 * Every message carries `runtimeId`, so one process hosting several runtimes can tell
 * them apart.
 */
export const channelNames = {
  snapshotLoaded: 'tollgate:snapshot:loaded',
  snapshotRefused: 'tollgate:snapshot:refused',
  refreshFailed: 'tollgate:snapshot:refresh-failed',
  usageFlushed: 'tollgate:usage:flushed',
  usageDropped: 'tollgate:usage:dropped',
  usageRejected: 'tollgate:usage:rejected',
  leaseGranted: 'tollgate:lease:granted',
  leaseFailed: 'tollgate:lease:failed',
  streamEvent: 'tollgate:snapshot:pushed',
  streamFailed: 'tollgate:snapshot:stream-failed',
  streamReconnect: 'tollgate:snapshot:stream-reconnect',
  usageRetry: 'tollgate:usage:retry',
  usageFailed: 'tollgate:usage:failed',
  bufferFull: 'tollgate:usage:buffer-full',
  reservationExpired: 'tollgate:reservation:expired',
  holdLost: 'tollgate:reservation:hold-lost',
  entryStale: 'tollgate:snapshot:entry-stale',
  settleShortfall: 'tollgate:reservation:shortfall',
  workerEnded: 'tollgate:thread:ended',
} as const;

export type ChannelName = (typeof channelNames)[keyof typeof channelNames];

const channels = new Map<ChannelName, diagnosticsChannel.Channel>();

/** Publishes `message` on `name` when someone listens; costs one lookup when nobody does. */
export function publish(name: ChannelName, message: Record<string, unknown>): void {
  let channel = channels.get(name);
  if (channel === undefined) {
    channel = diagnosticsChannel.channel(name);
    channels.set(name, channel);
  }
  if (channel.hasSubscribers) channel.publish(message);
}

/**
 * An optional pino-style logger (object first, constant message). The runtime logs only
 * failures of background work nobody awaits, such as the periodic refresh.
 */
export interface TollgateLogger {
  warn(object: Record<string, unknown>, message: string): void;
  error(object: Record<string, unknown>, message: string): void;
}
