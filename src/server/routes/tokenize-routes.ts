/** POST /tokenize and POST /detokenize, in vLLM's shapes. */
import type { FastifyInstance } from 'fastify';
import { InvalidRequestError } from '../../shared/errors.js';
import type { ModelLease } from '../../service/model-provider.js';
import { detokenizeSchema, tokenizeSchema } from '../openai/schemas.js';
import { chatMessages, renderChatPrompt } from '../openai/translate-chat.js';
import { keepAliveMs } from '../openai/translate-common.js';
import { parseWith } from '../openai/validate.js';
import type { ServerDeps } from '../server-deps.js';

/**
 * Tokenizing only borrows the engine's tokenizer: the lease ends without an outcome that the
 * metrics history or a canary's live window would count (it says nothing about generation).
 */
async function withLease<T>(
  deps: ServerDeps,
  model: string,
  work: (lease: ModelLease) => T,
): Promise<T> {
  const started = performance.now();
  const lease = await deps.provider.acquire(model, { keepAliveMs: keepAliveMs(undefined) });
  const end = (error?: string) =>
    lease.done({
      ok: error === undefined,
      ...(error === undefined ? {} : { error }),
      e2eMs: performance.now() - started,
      promptTokens: 0,
      completionTokens: 0,
      counted: false,
    });
  try {
    const result = work(lease);
    end();
    return result;
  } catch (err) {
    end((err as Error).message);
    throw err;
  }
}

export async function tokenizeRoutes(app: FastifyInstance, deps: ServerDeps): Promise<void> {
  app.post('/tokenize', async (request) => {
    const body = parseWith(tokenizeSchema, request.body);
    return withLease(deps, body.model, (lease) => {
      const tokenizer = lease.engine.tokenizer;
      const tokens =
        'messages' in body
          ? tokenizer.encode(
              renderChatPrompt(tokenizer, chatMessages(body), body.add_generation_prompt ?? true),
              { addSpecialTokens: false },
            )
          : tokenizer.encode(body.prompt, { addSpecialTokens: body.add_special_tokens ?? true });
      return { tokens, count: tokens.length, max_model_len: lease.engine.info.contextLength };
    });
  });

  app.post('/detokenize', async (request) => {
    const body = parseWith(detokenizeSchema, request.body);
    return withLease(deps, body.model, (lease) => {
      const vocab = lease.engine.tokenizer.vocabSize;
      const bad = body.tokens.findIndex((t) => t >= vocab);
      if (bad >= 0) {
        throw new InvalidRequestError(
          `Token id ${body.tokens[bad]} is outside the vocabulary (0..${vocab - 1}).`,
          `tokens[${bad}]`,
        );
      }
      return { prompt: lease.engine.tokenizer.decode(body.tokens, { skipSpecialTokens: false }) };
    });
  });
}
