import { describe, expect, it } from 'vitest';
import { toOpenAIError } from '../../../src/server/error-handler.js';
import {
  AuthenticationError,
  BusyError,
  ContextLengthExceededError,
  InvalidRequestError,
  ModelNotFoundError,
  NotReadyError,
  PermissionError,
} from '../../../src/shared/errors.js';

describe('toOpenAIError', () => {
  it('maps typed errors to status and OpenAI body', () => {
    expect(toOpenAIError(new InvalidRequestError('bad', 'temperature'))).toEqual({
      status: 400,
      body: {
        error: { message: 'bad', type: 'invalid_request_error', param: 'temperature', code: null },
      },
    });
    expect(toOpenAIError(new ContextLengthExceededError('long')).body.error.code).toBe(
      'context_length_exceeded',
    );
    expect(toOpenAIError(new AuthenticationError()).status).toBe(401);
    expect(toOpenAIError(new PermissionError('no')).status).toBe(403);
    expect(toOpenAIError(new ModelNotFoundError('x')).body.error).toMatchObject({
      param: 'model',
      code: 'model_not_found',
    });
    expect(toOpenAIError(new BusyError()).status).toBe(429);
    expect(toOpenAIError(new NotReadyError()).status).toBe(503);
  });

  it('maps fastify body errors', () => {
    const tooLarge = Object.assign(new Error('too large'), {
      code: 'FST_ERR_CTP_BODY_TOO_LARGE',
      statusCode: 413,
    });
    expect(toOpenAIError(tooLarge)).toMatchObject({
      status: 413,
      body: { error: { code: 'payload_too_large' } },
    });
    const media = Object.assign(new Error('x'), {
      code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
      statusCode: 415,
    });
    expect(toOpenAIError(media).status).toBe(415);
  });

  it('hides everything else behind a 500 without details', () => {
    const r = toOpenAIError(new TypeError('secret internals at /home/x/file.ts:12'));
    expect(r.status).toBe(500);
    expect(JSON.stringify(r.body)).not.toContain('secret');
    expect(r.body.error.type).toBe('server_error');
  });
});
