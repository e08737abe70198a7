/**
 * Streams one chat completion from the OpenAI API (`stream: true`) with fetch, parsing the SSE
 * body ourselves so the request can carry an AbortSignal and the page can time each reply:
 * time to first token and tokens per second are measured here, on the client, as a user sees them.
 */
import { ApiError, send } from './http.js';
import { SseParser } from './sse-parser.js';

export interface ChatMessageParam {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessageParam[];
  temperature?: number;
  top_p?: number;
  top_k?: number;
  max_tokens?: number;
  seed?: number;
  stop?: string[];
  /** Orchard extension: keep generating past the end-of-sequence token (for load tests). */
  ignore_eos?: boolean;
}

export interface ChatResult {
  /** The version that answered, e.g. `orchard-chat@2`. */
  model: string | null;
  text: string;
  finishReason: string | null;
  promptTokens: number | null;
  completionTokens: number;
  ttftMs: number | null;
  totalMs: number;
  tokensPerSecond: number | null;
  aborted: boolean;
}

interface ChunkBody {
  model?: string;
  choices?: Array<{ delta?: { content?: string | null }; finish_reason?: string | null }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string; type?: string; code?: string };
}

export interface StreamHandlers {
  onDelta?: (text: string, partial: ChatResult) => void;
}

export async function streamChat(
  request: ChatRequest,
  signal: AbortSignal,
  handlers: StreamHandlers = {},
): Promise<ChatResult> {
  const started = performance.now();
  let firstTokenAt: number | null = null;
  let contentChunks = 0;
  const result: ChatResult = {
    model: null,
    text: '',
    finishReason: null,
    promptTokens: null,
    completionTokens: 0,
    ttftMs: null,
    totalMs: 0,
    tokensPerSecond: null,
    aborted: false,
  };
  let usageTokens: number | null = null;

  const finish = (): ChatResult => {
    const now = performance.now();
    result.totalMs = now - started;
    result.completionTokens = usageTokens ?? contentChunks;
    if (firstTokenAt !== null && result.completionTokens > 1) {
      // The first token's time is TTFT; throughput counts the tokens that followed it.
      const decodeMs = now - firstTokenAt;
      result.tokensPerSecond =
        decodeMs > 0 ? ((result.completionTokens - 1) * 1000) / decodeMs : null;
    }
    return { ...result };
  };

  const body = JSON.stringify({
    ...request,
    stream: true,
    stream_options: { include_usage: true },
  });
  let res: Response;
  try {
    res = await send('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body,
      signal,
    });
  } catch (e) {
    if (signal.aborted) {
      result.aborted = true;
      return finish();
    }
    throw e;
  }
  if (!res.body) throw new ApiError('The server sent no response body.', res.status);

  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SseParser();
  const handle = (data: string): boolean => {
    if (data === '[DONE]') return true;
    const chunk = JSON.parse(data) as ChunkBody;
    if (chunk.error) {
      throw new ApiError(
        chunk.error.message ?? 'The stream failed.',
        500,
        chunk.error.type ?? null,
        chunk.error.code ?? null,
      );
    }
    if (chunk.model) result.model = chunk.model;
    const choice = chunk.choices?.[0];
    const delta = choice?.delta?.content;
    if (delta) {
      if (firstTokenAt === null) {
        firstTokenAt = performance.now();
        result.ttftMs = firstTokenAt - started;
      }
      contentChunks++;
      result.text += delta;
      handlers.onDelta?.(delta, { ...result, completionTokens: contentChunks });
    }
    if (choice?.finish_reason) result.finishReason = choice.finish_reason;
    if (chunk.usage) {
      if (typeof chunk.usage.completion_tokens === 'number')
        usageTokens = chunk.usage.completion_tokens;
      if (typeof chunk.usage.prompt_tokens === 'number')
        result.promptTokens = chunk.usage.prompt_tokens;
    }
    return false;
  };

  try {
    for (;;) {
      const { done, value } = await reader.read();
      const events = done ? parser.end() : parser.feed(value);
      for (const ev of events) {
        if (handle(ev.data)) return finish();
      }
      if (done) return finish();
    }
  } catch (e) {
    if (signal.aborted) {
      result.aborted = true;
      return finish();
    }
    throw e;
  } finally {
    reader.releaseLock();
  }
}
