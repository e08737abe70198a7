/**
 * Text completion responses and stream chunks. With several prompts, choice index is
 * prompt × n + choice, as OpenAI numbers them.
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

export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Array<Record<string, number>>;
  text_offset: number[];
}

function emptyLogprobs(): CompletionLogprobs {
  return { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
}

/** Appends token logprobs; `offset` is where the first token starts in the choice's text. */
export function appendCompletionLogprobs(
  into: CompletionLogprobs,
  lps: readonly TokenLogprob[],
  topN: number,
  offset: number,
): number {
  let at = offset;
  for (const lp of lps) {
    into.tokens.push(lp.token);
    into.token_logprobs.push(lp.logprob);
    const top: Record<string, number> = {};
    for (const t of lp.top.slice(0, topN)) if (!(t.token in top)) top[t.token] = t.logprob;
    into.top_logprobs.push(top);
    into.text_offset.push(at);
    at += lp.token.length;
  }
  return at;
}

export interface CompletionResponse {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  system_fingerprint: string;
  choices: Array<{
    index: number;
    text: string;
    logprobs: CompletionLogprobs | null;
    finish_reason: OpenAIFinishReason;
  }>;
  usage: OpenAIUsage;
}

interface ChoiceState {
  text: string;
  logprobs: CompletionLogprobs;
  offset: number;
  finishReason: FinishReason | null;
}

export interface CompletionShape {
  n: number;
  /** Prompt texts, prepended to each choice when echo is on. */
  prompts: string[];
  echo: boolean;
  /** null: no logprobs; otherwise how many top alternatives. */
  logprobs: number | null;
}

export class CompletionAccumulator {
  private readonly choices: ChoiceState[];

  constructor(private readonly shape: CompletionShape) {
    this.choices = [];
    shape.prompts.forEach((prompt) => {
      for (let i = 0; i < shape.n; i++) {
        this.choices.push({
          text: shape.echo ? prompt : '',
          logprobs: emptyLogprobs(),
          offset: shape.echo ? prompt.length : 0,
          finishReason: null,
        });
      }
    });
  }

  add(prompt: number, deltas: readonly ChoiceDelta[]): void {
    for (const d of deltas) {
      const c = this.choices[prompt * this.shape.n + d.index];
      c.text += d.text;
      if (this.shape.logprobs !== null) {
        c.offset = appendCompletionLogprobs(c.logprobs, d.logprobs, this.shape.logprobs, c.offset);
      }
      if (d.finishReason) c.finishReason = d.finishReason;
    }
  }

  response(meta: ResponseMeta, usage: GenerateUsage): CompletionResponse {
    return {
      id: meta.id,
      object: 'text_completion',
      created: meta.created,
      model: meta.model,
      system_fingerprint: meta.systemFingerprint,
      choices: this.choices.map((c, index) => ({
        index,
        text: c.text,
        logprobs: this.shape.logprobs === null ? null : c.logprobs,
        finish_reason: responseFinishReason(c.finishReason),
      })),
      usage: usageBody(usage),
    };
  }
}

export interface CompletionChunk {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  system_fingerprint: string;
  choices: Array<{
    index: number;
    text: string;
    logprobs: CompletionLogprobs | null;
    finish_reason: OpenAIFinishReason | null;
  }>;
  usage?: OpenAIUsage | null;
}

export class CompletionChunker {
  private readonly offsets: number[];
  private readonly echoed = new Set<number>();

  constructor(
    private readonly meta: ResponseMeta,
    private readonly shape: CompletionShape,
    private readonly includeUsage: boolean,
  ) {
    this.offsets = [];
    shape.prompts.forEach((p) => {
      for (let i = 0; i < shape.n; i++) this.offsets.push(shape.echo ? p.length : 0);
    });
  }

  private chunk(choices: CompletionChunk['choices']): CompletionChunk {
    const c: CompletionChunk = {
      id: this.meta.id,
      object: 'text_completion',
      created: this.meta.created,
      model: this.meta.model,
      system_fingerprint: this.meta.systemFingerprint,
      choices,
    };
    if (this.includeUsage) c.usage = null;
    return c;
  }

  deltas(prompt: number, deltas: readonly ChoiceDelta[]): CompletionChunk[] {
    const out: CompletionChunk[] = [];
    for (const d of deltas) {
      const index = prompt * this.shape.n + d.index;
      let text = d.text;
      if (this.shape.echo && !this.echoed.has(index)) {
        this.echoed.add(index);
        text = this.shape.prompts[prompt] + text;
      }
      let logprobs: CompletionLogprobs | null = null;
      if (this.shape.logprobs !== null) {
        logprobs = emptyLogprobs();
        this.offsets[index] = appendCompletionLogprobs(
          logprobs,
          d.logprobs,
          this.shape.logprobs,
          this.offsets[index],
        );
      }
      const finish = chunkFinishReason(d.finishReason);
      if (text === '' && (logprobs === null || logprobs.tokens.length === 0) && finish === null) {
        continue;
      }
      out.push(this.chunk([{ index, text, logprobs, finish_reason: finish }]));
    }
    return out;
  }

  usage(usage: GenerateUsage): CompletionChunk {
    return { ...this.chunk([]), usage: usageBody(usage) };
  }
}
