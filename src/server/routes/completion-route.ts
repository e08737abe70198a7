/** POST /v1/completions */
import type { FastifyInstance } from 'fastify';
import {
  CompletionAccumulator,
  CompletionChunker,
  type CompletionShape,
} from '../openai/completion-format.js';
import { nowSeconds, responseId, type ResponseMeta } from '../openai/format-common.js';
import type { PromptOutput } from '../openai/generation.js';
import { COMPLETION_UNSUPPORTED, completionSchema } from '../openai/schemas.js';
import {
  collectResponse,
  modelFacts,
  startGeneration,
  streamSse,
} from '../openai/start-generation.js';
import { translateCompletion } from '../openai/translate-completion.js';
import { parseWith, rejectUnsupported } from '../openai/validate.js';
import type { ServerDeps } from '../server-deps.js';

export async function completionRoute(app: FastifyInstance, deps: ServerDeps): Promise<void> {
  app.post('/v1/completions', async (request, reply) => {
    rejectUnsupported(request.body, COMPLETION_UNSUPPORTED);
    const body = parseWith(completionSchema, request.body);
    const gen = await startGeneration(deps, request, reply, body);
    const id = responseId('cmpl');
    let source: AsyncGenerator<PromptOutput>;
    let shape: CompletionShape;
    try {
      const t = translateCompletion(
        body,
        gen.lease.engine.tokenizer,
        modelFacts(gen.lease.engine),
        id,
      );
      for (const p of t.prompts) gen.lease.mirror(p.request);
      shape = {
        n: body.n ?? 1,
        prompts: t.prompts.map((p) => p.promptText),
        echo: t.echo,
        logprobs: body.logprobs ?? null,
      };
      source = gen.run(t.prompts.map((p) => p.request));
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

    if (body.stream) {
      const includeUsage = body.stream_options?.include_usage ?? false;
      const chunker = new CompletionChunker(meta, shape, includeUsage);
      await streamSse(reply, gen, source, {
        prelude: () => [],
        of: (item) => chunker.deltas(item.prompt, item.output.choices),
        usage: () => (includeUsage ? chunker.usage(gen.usage) : null),
      });
      return reply;
    }

    const acc = new CompletionAccumulator(shape);
    return collectResponse(
      reply,
      gen,
      source,
      (item) => acc.add(item.prompt, item.output.choices),
      () => acc.response(meta, gen.usage),
    );
  });
}
