import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import type { Tollgate } from '@tollgate/runtime';
import { TollgateModule } from '@tollgate/nestjs';
import { AssistantController } from './assistant.controller.js';
import { CompletionsController } from './completions.controller.js';

/**
 * The assistant's root module. `TollgateModule.forRoot` is the one line that adds
 * Tollgate; the customer comes from the `tollgate-customer` header by default, and the user
 * (for seats) from `tollgate-user`. The completions controller adds OpenAI's `error`
 * member to its own denials (`OpenAiDenialFilter`).
 */
@Module({})
export class AppModule {
  static register(tollgate: Tollgate): DynamicModule {
    return {
      module: AppModule,
      imports: [TollgateModule.forRoot({ runtime: tollgate, user: 'tollgate-user' })],
      controllers: [AssistantController, CompletionsController],
    };
  }
}
