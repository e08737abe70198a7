/**
 * One fetch wrapper for the admin API and the OpenAI API. The session cookie authenticates
 * (same origin), so the page never holds the API key. Errors come back as the OpenAI error
 * body on every route; they are surfaced as ApiError with the server's own message.
 */
import { setSignedOut } from './session.js';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly type: string | null = null,
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface ErrorBody {
  error?: { message?: unknown; type?: unknown; code?: unknown; param?: unknown } | string;
  message?: unknown;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

export async function errorFromResponse(res: Response): Promise<ApiError> {
  let body: ErrorBody | null = null;
  const text = await res.text().catch(() => '');
  try {
    body = text ? (JSON.parse(text) as ErrorBody) : null;
  } catch {
    body = null;
  }
  const err = body?.error;
  if (err && typeof err === 'object') {
    return new ApiError(
      str(err.message) ?? `${res.status} ${res.statusText}`,
      res.status,
      str(err.type),
      str(err.code),
      str(err.param),
    );
  }
  const message =
    str(err) ?? str(body?.message) ?? (text.trim() || `${res.status} ${res.statusText}`);
  return new ApiError(message, res.status);
}

export async function send(path: string, init: RequestInit = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, { credentials: 'same-origin', ...init });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError('Cannot reach the Orchard service. Is it running?', 0, 'network_error');
  }
  if (res.status === 401) setSignedOut(true);
  if (!res.ok) throw await errorFromResponse(res);
  return res;
}

export async function requestJson<T>(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<T> {
  const res = await send(path, {
    method,
    signal,
    headers:
      body === undefined
        ? { accept: 'application/json' }
        : { 'content-type': 'application/json', accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
