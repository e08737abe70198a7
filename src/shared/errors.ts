/**
 * Typed errors. Every layer throws these; the HTTP layer maps them to the OpenAI error body
 * in exactly one place (src/server/error-handler.ts). `type` and `code` follow OpenAI's values.
 */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'service_unavailable';

export class OrchardError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly type: ErrorType,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidRequestError extends OrchardError {
  constructor(message: string, param: string | null = null, code: string | null = null) {
    super(message, 400, 'invalid_request_error', param, code);
  }
}

export class ContextLengthExceededError extends OrchardError {
  constructor(message: string, param: string | null = 'messages') {
    super(message, 400, 'invalid_request_error', param, 'context_length_exceeded');
  }
}

export class AuthenticationError extends OrchardError {
  constructor(message = 'Missing or invalid API key. Send it as "Authorization: Bearer <key>".') {
    super(message, 401, 'authentication_error', null, 'invalid_api_key');
  }
}

export class PermissionError extends OrchardError {
  constructor(message: string, code: string | null = null) {
    super(message, 403, 'permission_error', null, code);
  }
}

export class NotFoundError extends OrchardError {
  constructor(message: string, param: string | null = null, code: string | null = 'not_found') {
    super(message, 404, 'not_found_error', param, code);
  }
}

export class ModelNotFoundError extends NotFoundError {
  constructor(model: string) {
    super(`The model '${model}' does not exist.`, 'model', 'model_not_found');
  }
}

export class PayloadTooLargeError extends OrchardError {
  constructor(message = 'Request body is too large.') {
    super(message, 413, 'invalid_request_error', null, 'payload_too_large');
  }
}

/** The engine's waiting queue is full: the client should retry later. */
export class BusyError extends OrchardError {
  constructor(message = 'The server is busy: too many requests are waiting. Retry shortly.') {
    super(message, 429, 'rate_limit_error', null, 'server_busy');
  }
}

export class NotReadyError extends OrchardError {
  constructor(message = 'No model is ready yet.') {
    super(message, 503, 'service_unavailable', null, 'not_ready');
  }
}

export class ConflictError extends OrchardError {
  constructor(message: string, param: string | null = null) {
    super(message, 409, 'invalid_request_error', param, 'conflict');
  }
}

/** Raised inside the engine when a request is aborted (client gone, shutdown, unload). */
export class AbortedError extends Error {
  constructor(message = 'Request aborted.') {
    super(message);
    this.name = 'AbortedError';
  }
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}
