/**
 * Host-side text for one choice: token ids → UTF-8-safe text → stop strings → logprob entries.
 * Tokens are taken one at a time so that when a stop string completes, the choice's token ids
 * and logprobs end with the token that completed it.
 */
import type { CoreTokenLogprob } from './core-types.js';
import { Detokenizer } from './detokenizer.js';
import { StopMatcher } from './stop-matcher.js';
import type { ChoiceDelta } from './types.js';
import type { FinishReason, TokenLogprob, TopLogprob } from '../shared/sampling.js';

export interface TokenText {
  tokenBytes(id: number): Uint8Array;
  /** Special tokens are counted but produce no text. */
  isHidden(id: number): boolean;
}

export class ChoiceText {
  private readonly detok: Detokenizer;
  private readonly stop: StopMatcher;
  private readonly lossy = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  finishReason: FinishReason | null = null;
  completionTokens = 0;

  constructor(
    readonly index: number,
    private readonly tokens: TokenText,
    stops: readonly string[],
  ) {
    this.detok = new Detokenizer(
      (id) => tokens.tokenBytes(id),
      (id) => tokens.isHidden(id),
    );
    this.stop = new StopMatcher(stops);
  }

  get finished(): boolean {
    return this.finishReason !== null;
  }

  /** Applies a core output for this choice; null when there is nothing to report. */
  push(
    tokenIds: readonly number[],
    logprobs: readonly CoreTokenLogprob[],
    coreFinish: FinishReason | null,
  ): ChoiceDelta | null {
    if (this.finished) return null;
    const delta: ChoiceDelta = {
      index: this.index,
      text: '',
      tokenIds: [],
      logprobs: [],
      finishReason: null,
    };
    for (let i = 0; i < tokenIds.length; i++) {
      const id = tokenIds[i];
      delta.tokenIds.push(id);
      this.completionTokens++;
      if (logprobs[i]) delta.logprobs.push(this.logprob(logprobs[i]));
      const r = this.stop.push(this.detok.push([id]));
      delta.text += r.text;
      if (r.stopped) {
        this.finishReason = delta.finishReason = 'stop';
        return delta;
      }
    }
    if (coreFinish !== null) this.end(delta, coreFinish);
    return delta.text !== '' || delta.tokenIds.length > 0 || delta.finishReason !== null
      ? delta
      : null;
  }

  /** Ends the choice from outside the core's outputs (abort, unload). */
  close(reason: FinishReason): ChoiceDelta | null {
    if (this.finished) return null;
    const delta: ChoiceDelta = {
      index: this.index,
      text: '',
      tokenIds: [],
      logprobs: [],
      finishReason: null,
    };
    this.end(delta, reason);
    return delta;
  }

  private end(delta: ChoiceDelta, reason: FinishReason): void {
    // An incomplete character at the very end can still complete a stop string's check.
    const tail = this.stop.push(this.detok.flush());
    delta.text += tail.text;
    if (tail.stopped) {
      this.finishReason = delta.finishReason = 'stop';
      return;
    }
    delta.text += this.stop.flush();
    this.finishReason = delta.finishReason = reason;
  }

  private top(t: { tokenId: number; logprob: number }): TopLogprob {
    const bytes = this.tokens.tokenBytes(t.tokenId);
    return {
      tokenId: t.tokenId,
      token: this.lossy.decode(bytes),
      logprob: t.logprob,
      bytes: [...bytes],
    };
  }

  private logprob(l: CoreTokenLogprob): TokenLogprob {
    return { ...this.top(l), top: l.top.map((t) => this.top(t)) };
  }
}
