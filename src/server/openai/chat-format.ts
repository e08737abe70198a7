/**
 * Chat completion responses and stream chunks from engine outputs. Pure: accumulates
 * ChoiceDeltas into messages and shapes OpenAI's JSON.
 */
import type { ChoiceDelta, GenerateUsage } from '../../engine/types.js';
import type { FinishReason, TokenLogprob } from '../../shared/sampling.js';
import {
  chunkFinishReason,
  responseFinishReason,
  usageBody,
  type OpenAIFinishReason,
  type OpenAIUsage,
  type ResponseMeta,
} from './format-common.js';

export interface ChatLogprobEntry {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: Array<{ token: string; logprob: number; bytes: number[] }>;
}

export function chatLogprobs(lps: readonly TokenLogprob[], topN: number): ChatLogprobEntry[] {
  return lps.map((lp) => ({
    token: lp.token,
    logprob: lp.logprob,
    bytes: [...lp.bytes],
    top_logprobs: lp.top.slice(0, topN).map((t) => ({
      token: t.token,
      logprob: t.logprob,
      bytes: [...t.bytes],
    })),
  }));
}

interface ChoiceState {
  text: string;
  logprobs: ChatLogprobEntry[];
  finishReason: FinishReason | null;
}

export interface ChatCompletionResponse {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  system_fingerprint: string;
  choices: Array<{
    index: number;
    message: { role: 'assistant'; content: string; refusal: null };
    logprobs: { content: ChatLogprobEntry[]; refusal: null } | null;
    finish_reason: OpenAIFinishReason;
  }>;
  usage: OpenAIUsage;
}

/** Collects a whole non-streamed chat completion. */
export class ChatAccumulator {
  private readonly choices: ChoiceState[];

  constructor(
    n: number,
    private readonly logprobs: boolean,
    private readonly topN: number,
  ) {
    this.choices = Array.from({ length: n }, () => ({
      text: '',
      logprobs: [],
      finishReason: null,
    }));
  }

  add(deltas: readonly ChoiceDelta[]): void {
    for (const d of deltas) {
      const c = this.choices[d.index];
      c.text += d.text;
      if (this.logprobs) c.logprobs.push(...chatLogprobs(d.logprobs, this.topN));
      if (d.finishReason) c.finishReason = d.finishReason;
    }
  }

  response(meta: ResponseMeta, usage: GenerateUsage): ChatCompletionResponse {
    return {
      id: meta.id,
      object: 'chat.completion',
      created: meta.created,
      model: meta.model,
      system_fingerprint: meta.systemFingerprint,
      choices: this.choices.map((c, index) => ({
        index,
        message: { role: 'assistant', content: c.text, refusal: null },
        logprobs: this.logprobs ? { content: c.logprobs, refusal: null } : null,
        finish_reason: responseFinishReason(c.finishReason),
      })),
      usage: usageBody(usage),
    };
  }
}

export interface ChatChunkChoice {
  index: number;
  delta: { role?: 'assistant'; content?: string };
  logprobs: { content: ChatLogprobEntry[]; refusal: null } | null;
  finish_reason: OpenAIFinishReason | null;
}

export interface ChatChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  system_fingerprint: string;
  choices: ChatChunkChoice[];
  usage?: OpenAIUsage | null;
}

/** Shapes stream chunks; `includeUsage` adds `usage: null` to each and a final usage chunk. */
export class ChatChunker {
  constructor(
    private readonly meta: ResponseMeta,
    private readonly includeUsage: boolean,
    private readonly logprobs: boolean,
    private readonly topN: number,
  ) {}

  private chunk(choices: ChatChunkChoice[]): ChatChunk {
    const c: ChatChunk = {
      id: this.meta.id,
      object: 'chat.completion.chunk',
      created: this.meta.created,
      model: this.meta.model,
      system_fingerprint: this.meta.systemFingerprint,
      choices,
    };
    if (this.includeUsage) c.usage = null;
    return c;
  }

  /** The opening chunk of each choice: the assistant role and empty content, as OpenAI sends. */
  roles(n: number): ChatChunk[] {
    return Array.from({ length: n }, (_, index) =>
      this.chunk([
        { index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
      ]),
    );
  }

  /** Chunks for one engine output; deltas with nothing to say are skipped. */
  deltas(deltas: readonly ChoiceDelta[]): ChatChunk[] {
    const out: ChatChunk[] = [];
    for (const d of deltas) {
      const hasLogprobs = this.logprobs && d.logprobs.length > 0;
      const finish = chunkFinishReason(d.finishReason);
      if (d.text === '' && !hasLogprobs && finish === null) continue;
      out.push(
        this.chunk([
          {
            index: d.index,
            delta: d.text === '' ? {} : { content: d.text },
            logprobs: this.logprobs
              ? { content: chatLogprobs(d.logprobs, this.topN), refusal: null }
              : null,
            finish_reason: finish,
          },
        ]),
      );
    }
    return out;
  }

  usage(usage: GenerateUsage): ChatChunk {
    return { ...this.chunk([]), usage: usageBody(usage) };
  }
}
