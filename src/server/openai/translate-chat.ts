/**
 * OpenAI chat completion body → native GenerateRequest. Pure: the chat template and the
 * tokenizer come from the engine's host-side tokenizer; nothing here talks to the engine.
 */
import type { ChatMessage, GenerateRequest, ModelTokenizer } from '../../engine/types.js';
import { InvalidRequestError } from '../../shared/errors.js';
import type { ChatCompletionBody } from './schemas.js';
import { commonSampling, completionBudget, type ModelFacts } from './translate-common.js';

export interface TranslatedChat {
  request: GenerateRequest;
  promptText: string;
  promptTokens: number;
}

function messageText(content: string | unknown[], index: number): string {
  if (typeof content === 'string') return content;
  const parts: string[] = [];
  content.forEach((part, j) => {
    const param = `messages[${index}].content[${j}]`;
    if (typeof part !== 'object' || part === null) {
      throw new InvalidRequestError(`Invalid value for '${param}': expected an object.`, param);
    }
    const p = part as Record<string, unknown>;
    if (p.type !== 'text') {
      throw new InvalidRequestError(
        `Orchard serves text-only models: content part type '${String(p.type)}' is not supported.`,
        `${param}.type`,
        'unsupported_parameter',
      );
    }
    const extra = Object.keys(p).find((k) => k !== 'type' && k !== 'text');
    if (extra !== undefined) {
      throw new InvalidRequestError(
        `Unrecognized request argument supplied: ${param}.${extra}`,
        `${param}.${extra}`,
      );
    }
    if (typeof p.text !== 'string') {
      throw new InvalidRequestError(
        `Invalid value for '${param}.text': expected a string.`,
        `${param}.text`,
      );
    }
    parts.push(p.text);
  });
  return parts.join('\n');
}

export function chatMessages(body: Pick<ChatCompletionBody, 'messages'>): ChatMessage[] {
  return body.messages.map((m, i) => ({ role: m.role, content: messageText(m.content, i) }));
}

export function renderChatPrompt(
  tokenizer: ModelTokenizer,
  messages: ChatMessage[],
  addGenerationPrompt = true,
): string {
  try {
    return tokenizer.applyChatTemplate(messages, { addGenerationPrompt });
  } catch (err) {
    // Templates raise on conversations they cannot render (e.g. roles out of order).
    throw new InvalidRequestError(
      `The model's chat template rejected the messages: ${(err as Error).message}`,
      'messages',
    );
  }
}

export function translateChat(
  body: ChatCompletionBody,
  tokenizer: ModelTokenizer,
  facts: ModelFacts,
  requestId?: string,
): TranslatedChat {
  if (body.stream_options && !body.stream) {
    throw new InvalidRequestError(
      "'stream_options' is only allowed when 'stream' is true.",
      'stream_options',
    );
  }
  if (
    body.max_tokens !== null &&
    body.max_tokens !== undefined &&
    body.max_completion_tokens !== null &&
    body.max_completion_tokens !== undefined &&
    body.max_tokens !== body.max_completion_tokens
  ) {
    throw new InvalidRequestError(
      "Set only one of 'max_tokens' and 'max_completion_tokens'.",
      'max_tokens',
    );
  }
  const logprobs = body.logprobs ?? false;
  const top = body.top_logprobs ?? 0;
  if (!logprobs && top > 0) {
    throw new InvalidRequestError("'top_logprobs' requires 'logprobs' to be true.", 'top_logprobs');
  }
  const sampling = commonSampling(body, facts);
  const promptText = renderChatPrompt(tokenizer, chatMessages(body));
  // The template already wrote any BOS/special tokens, as in transformers' apply_chat_template.
  const promptTokenIds = tokenizer.encode(promptText, { addSpecialTokens: false });
  const maxTokens = completionBudget(
    promptTokenIds.length,
    body.max_completion_tokens ?? body.max_tokens,
    facts,
    'messages',
  );
  return {
    request: {
      requestId,
      promptTokenIds,
      params: { ...sampling, maxTokens, logprobs, topLogprobs: top },
    },
    promptText,
    promptTokens: promptTokenIds.length,
  };
}
