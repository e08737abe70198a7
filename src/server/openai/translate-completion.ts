/**
 * OpenAI (legacy) text completion body → one native GenerateRequest per prompt. Pure.
 */
import type { GenerateRequest, ModelTokenizer } from '../../engine/types.js';
import { InvalidRequestError } from '../../shared/errors.js';
import type { CompletionBody } from './schemas.js';
import { commonSampling, completionBudget, type ModelFacts } from './translate-common.js';

export interface TranslatedPrompt {
  request: GenerateRequest;
  /** The prompt as text (echo, text_offset). */
  promptText: string;
  promptTokens: number;
}

export interface TranslatedCompletion {
  prompts: TranslatedPrompt[];
  echo: boolean;
}

function promptList(prompt: CompletionBody['prompt']): Array<string | number[]> {
  if (typeof prompt === 'string') return [prompt];
  if (prompt.length > 0 && typeof prompt[0] === 'number') return [prompt as number[]];
  return prompt as Array<string | number[]>;
}

export function translateCompletion(
  body: CompletionBody,
  tokenizer: ModelTokenizer,
  facts: ModelFacts,
  requestId?: string,
): TranslatedCompletion {
  if (body.stream_options && !body.stream) {
    throw new InvalidRequestError(
      "'stream_options' is only allowed when 'stream' is true.",
      'stream_options',
    );
  }
  const n = body.n ?? 1;
  if (body.best_of !== null && body.best_of !== undefined && body.best_of !== n) {
    throw new InvalidRequestError(
      "Orchard does not support 'best_of' different from 'n'.",
      'best_of',
      'unsupported_parameter',
    );
  }
  const echo = body.echo ?? false;
  const logprobs = body.logprobs !== null && body.logprobs !== undefined;
  if (echo && logprobs) {
    throw new InvalidRequestError(
      "Orchard does not support 'echo' together with 'logprobs'.",
      'echo',
      'unsupported_parameter',
    );
  }
  const sampling = commonSampling(body, facts);
  const prompts = promptList(body.prompt).map((p, i): TranslatedPrompt => {
    let ids: number[];
    let text: string;
    if (typeof p === 'string') {
      ids = tokenizer.encode(p, { addSpecialTokens: true });
      text = p;
    } else {
      const bad = p.find((id) => id >= facts.vocabSize);
      if (bad !== undefined) {
        throw new InvalidRequestError(
          `Invalid token id ${bad} in 'prompt': the vocabulary has ${facts.vocabSize} tokens.`,
          'prompt',
        );
      }
      ids = p;
      text = tokenizer.decode(p, { skipSpecialTokens: false });
    }
    if (ids.length === 0) {
      throw new InvalidRequestError("The 'prompt' must not be empty.", 'prompt');
    }
    const maxTokens = completionBudget(ids.length, body.max_tokens, facts, 'prompt');
    return {
      request: {
        requestId: requestId === undefined ? undefined : `${requestId}-${i}`,
        promptTokenIds: ids,
        params: {
          ...sampling,
          maxTokens,
          logprobs,
          topLogprobs: body.logprobs ?? 0,
        },
      },
      promptText: text,
      promptTokens: ids.length,
    };
  });
  return { prompts, echo };
}
