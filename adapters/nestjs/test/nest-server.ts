import 'reflect-metadata';
import diagnosticsChannel from 'node:diagnostics_channel';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { SettlementMessage } from '@tollgate/runtime';
import { settlementChannelName } from '../src/index.js';

export interface RunningNest {
  url: string;
  close(): Promise<void>;
}

/** Boots an application of `imports` and `controllers` on 127.0.0.1, Nest's logging off. */
export async function serveNest(
  imports: DynamicModule[],
  controllers: Array<new (...args: never[]) => object>,
): Promise<RunningNest> {
  @Module({})
  class TestModule {}
  const module: DynamicModule = { module: TestModule, imports, controllers };
  const app = await NestFactory.create(module, { logger: false });
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as Server;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await app.close();
    },
  };
}

/** Collects what the Nest adapter publishes on its settlement channel. */
export class Settlements {
  readonly entries: SettlementMessage[] = [];
  #waiters: Array<{ count: number; resolve: () => void }> = [];
  readonly #handler = (message: unknown): void => {
    this.entries.push(message as SettlementMessage);
    for (const waiter of this.#waiters) if (waiter.count <= this.entries.length) waiter.resolve();
  };

  constructor() {
    diagnosticsChannel.subscribe(settlementChannelName, this.#handler);
  }

  /** Resolves once `count` settlements have been published. */
  reach(count: number): Promise<void> {
    if (this.entries.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  /** What each settlement concluded, without the reservation. */
  outcomes(): Array<Pick<SettlementMessage, 'status' | 'charged' | 'outcome'>> {
    return this.entries.map(({ status, charged, outcome }) => ({ status, charged, outcome }));
  }

  stop(): void {
    diagnosticsChannel.unsubscribe(settlementChannelName, this.#handler);
  }
}
