import { BadRequestException, NotFoundException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { toApiError } from './http-app';

/** A Fastify error as Fastify builds them: a code and a statusCode. */
function fastifyError(code: string, statusCode: number): Error {
  return Object.assign(new Error(`'/v1/tokens/4242424242424242' is refused`), { code, statusCode });
}

describe('errors raised while serving a request, in the contract shape', () => {
  it('answers Fastify refusals that have no mapping of their own with their 4xx, never a 500', () => {
    for (const [code, status] of [
      ['FST_ERR_MAX_PARAM_LENGTH', 414],
      ['FST_ERR_BAD_URL', 400],
      ['FST_ERR_SOMETHING_NEW', 400],
      ['FST_ERR_SOMETHING_NEWER', 431],
    ] as const) {
      expect(toApiError(fastifyError(code, status)).status, code).toBe(status);
    }
  });

  it('does not echo a Fastify message, which may quote the URL', () => {
    const body = JSON.stringify(toApiError(fastifyError('FST_ERR_SOMETHING_NEW', 400)).toBody());
    expect(body).not.toContain('4242424242424242');
  });

  it('finds Fastify errors that Nest wrapped in an HttpException', () => {
    const wrapped = new BadRequestException('body', { cause: fastifyError('FST_ERR_CTP_BODY_TOO_LARGE', 413) });
    expect(toApiError(wrapped).toBody().error).toMatchObject({ code: 'body_too_large' });
  });

  it('keeps a 500 for what is not the caller’s fault', () => {
    expect(toApiError(new TypeError('x is undefined')).status).toBe(500);
    expect(toApiError(fastifyError('FST_ERR_SERVER_BROKEN', 500)).status).toBe(500);
    expect(toApiError(Object.assign(new Error('not Fastify'), { code: 'ERR_INVALID_ARG_TYPE', statusCode: 400 })).status).toBe(500);
  });

  it('names an unknown route as such', () => {
    expect(toApiError(new NotFoundException()).toBody().error).toMatchObject({ code: 'route_not_found' });
  });
});
