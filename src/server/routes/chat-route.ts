/** POST /v1/chat/completions */
import type { FastifyInstance } from 'fastify';
import { ChatAccumulator, ChatChunker } from '../openai/chat-format.js';
import { nowSeconds, responseId, type ResponseMeta } from '../openai/format-common.js';
import type { PromptOutput } from '../openai/generation.js';
import { CHAT_UNSUPPORTED, chatCompletionSchema } from '../openai/schemas.js';
import {
  collectResponse,
  modelFacts,
  startGeneration,
  streamSse,
} from '../openai/start-generation.js';
import { translateChat } from '../openai/translate-chat.js';
import { parseWith, rejectUnsupported } from '../openai/validate.js';
import type { ServerDeps } from '../server-deps.js';

export async function chatRoute(app: FastifyInstance, deps: ServerDeps): Promise<void> {
  app.post('/v1/chat/completions', async (request, reply) => {
    rejectUnsupported(request.body, CHAT_UNSUPPORTED);
    const body = parseWith(chatCompletionSchema, request.body);
    const gen = await startGeneration(deps, request, reply, body);
    const id = responseId('chatcmpl');
    let source: AsyncGenerator<PromptOutput>;
    let n: number;
    try {
      const t = translateChat(body, gen.lease.engine.tokenizer, modelFacts(gen.lease.engine), id);
      gen.lease.mirror(t.request);
      n = t.request.params.n;
      source = gen.run([t.request]);
    } catch (err) {
      gen.end(err);
      throw err;
    }
    const meta: ResponseMeta = {
      id,
      created: nowSeconds(),
      model: gen.lease.servedName,
      systemFingerprint: `orchard-${deps.version}`,
    };
    const logprobs = body.logprobs ?? false;
    const topN = body.top_logprobs ?? 0;

    if (body.stream) {
      const chunker = new ChatChunker(
        meta,
        body.stream_options?.include_usage ?? false,
        logprobs,
        topN,
      );
      await streamSse(reply, gen, source, {
        prelude: () => chunker.roles(n),
        of: (item) => chunker.deltas(item.output.choices),
        usage: () => (body.stream_options?.include_usage ? chunker.usage(gen.usage) : null),
      });
      return reply;
    }

    const acc = new ChatAccumulator(n, logprobs, topN);
    return collectResponse(
      reply,
      gen,
      source,
      (item) => acc.add(item.output.choices),
      () => acc.response(meta, gen.usage),
    );
  });
}
