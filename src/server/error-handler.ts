/**
 * The one place where errors become HTTP responses: typed Orchard errors and fastify's own
 * errors (bad JSON, body too large, bad content type) are mapped to OpenAI's error body.
 * Anything else is a 500 whose details stay in the log, never in the response.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { OrchardError, type OpenAIErrorBody } from '../shared/errors.js';

export interface MappedError {
  status: number;
  body: OpenAIErrorBody;
}

function body(
  message: string,
  type: string,
  param: string | null = null,
  code: string | null = null,
): OpenAIErrorBody {
  return { error: { message, type, param, code } };
}

function isFastifyError(err: unknown): err is FastifyError {
  return (
    err instanceof Error &&
    typeof (err as FastifyError).code === 'string' &&
    (err as FastifyError).code.startsWith('FST_')
  );
}

export function toOpenAIError(err: unknown): MappedError {
  if (err instanceof OrchardError) {
    return { status: err.status, body: body(err.message, err.type, err.param, err.code) };
  }
  if (isFastifyError(err)) {
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return {
          status: 413,
          body: body(
            'Request body is too large.',
            'invalid_request_error',
            null,
            'payload_too_large',
          ),
        };
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return {
          status: 415,
          body: body(
            'Unsupported Content-Type: send the body as application/json.',
            'invalid_request_error',
            null,
            'unsupported_media_type',
          ),
        };
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return {
          status: 400,
          body: body('The request body is empty; expected a JSON object.', 'invalid_request_error'),
        };
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return { status, body: body(err.message, 'invalid_request_error') };
    }
  }
  return {
    status: 500,
    body: body('Internal server error.', 'server_error', null, 'internal_error'),
  };
}

export function registerErrorHandling(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((err, request, reply) => {
    const mapped = toOpenAIError(err);
    if (mapped.status >= 500) {
      logger.error({ err, url: request.url.split('?')[0] }, 'request failed');
    }
    void reply.code(mapped.status).type('application/json; charset=utf-8').send(mapped.body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .type('application/json; charset=utf-8')
      .send(
        body(
          `Unknown route: ${request.method} ${request.url.split('?')[0]}`,
          'not_found_error',
          null,
          'unknown_route',
        ),
      );
  });
}
