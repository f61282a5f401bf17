import { Body, Controller, Get, Header, Headers, HttpCode, Param, Post } from '@nestjs/common';
import { StreamableFile } from '@nestjs/common';
import { parseQuantity } from '@tollgate/core';
import { Meter, RequireFeature } from '@tollgate/nestjs';
import type { NestHttpRequest } from '@tollgate/nestjs';
import { complete, generateImage } from '../fake-model.js';

type Body = Record<string, unknown> | undefined;
type Request = NestHttpRequest<Body>;

const imageCount = (request: Request): number => parseQuantity(request.body?.count ?? 1, 'count');
const projectCount = (request: Request): number =>
  parseQuantity(request.body?.project_count, 'project_count');
const tokens = (request: Request): number => parseQuantity(request.body?.tokens, 'tokens');

/**
 * The Quillstone assistant's routes on NestJS: the same features and answers as the
 * Express app in ../app.ts. The decorators carry all the pricing; handlers have none.
 */
@Controller()
export class AssistantController {
  // `chat.fast`, `chat.smart`; an unknown model names an unknown feature, denied with 403.
  @Post('chat/:model')
  @HttpCode(200)
  @RequireFeature((request) => `chat.${request.params.model}`)
  chat(@Param('model') model: string, @Body() body: Body): object {
    return { model, reply: complete(model, String(body?.prompt ?? '')) };
  }

  @Post('images')
  @HttpCode(200)
  @Meter('image.generate', imageCount)
  images(@Body() body: Body): object {
    const count = parseQuantity(body?.count ?? 1, 'count');
    return {
      images: Array.from({ length: count }, () => generateImage(String(body?.prompt ?? ''))),
    };
  }

  @Get('export/pdf')
  @RequireFeature('export_pdf')
  @Header('content-type', 'application/pdf')
  exportPdf(): StreamableFile {
    return new StreamableFile(Buffer.from('%PDF-1.7\n%quillstone\n'));
  }

  // `sso` requires a seat: a user the account has not given one is denied `no_seat`.
  @Get('sso')
  @RequireFeature('sso')
  sso(@Headers('tollgate-user') user: string): object {
    return { user, sso: true };
  }

  @Post('projects')
  @Meter('max_projects', projectCount)
  projects(@Body() body: Body): object {
    return { project_count: body?.project_count };
  }

  @Post('complete')
  @HttpCode(200)
  @Meter('api_tokens', tokens)
  complete(@Body() body: Body): object {
    return { tokens: body?.tokens, text: complete('tokens', String(body?.prompt ?? '')) };
  }
}
