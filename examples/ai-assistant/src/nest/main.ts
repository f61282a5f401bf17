import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Tollgate } from '@tollgate/runtime';
import { AppModule } from './app.module.js';

/** Creates the Nest assistant (not yet listening), with Nest's logging off. */
export async function createNestAssistantApp(tollgate: Tollgate): Promise<INestApplication> {
  return NestFactory.create(AppModule.register(tollgate), { logger: false });
}
