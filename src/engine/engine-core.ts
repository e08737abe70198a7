/**
 * The engine core: one step = schedule → runner.execute → sample → update. Token level only;
 * the host turns CoreOutputs into text. Not re-entrant: call step() again only after the
 * previous one resolved (the worker's loop does exactly that).
 *
 * What a runner can rely on:
 * - All KV state lives in blocks; a seqId carries nothing across steps. After a prefix-cache hit
 *   a sequence starts at startPosition > 0 with blocks it never wrote; after preemption the same
 *   seqId starts again at position 0 (prompt and generated tokens recomputed as one prompt).
 * - Within one execute() no sequence reads a slot another sequence writes: prefix blocks are
 *   shared only once computed, and a shared partial block is copied (copyBlock, called
 *   synchronously before execute) before a choice writes into it.
 * - Logits are needed only where numLogits > 0: 1, or k + 1 when verifying k draft tokens (the
 *   core reads the last numLogits × vocabSize floats).
 * - A draft runner (speculative decoding) shares the block ids: copyBlock is called on both,
 *   and the draft only writes slots of blocks the target holds.
 */
import type { CoreOutput, CoreRequest, EngineCoreConfig } from './core-types.js';
import { kvBytesPerToken, type ModelRunner, type RunnerStepOutput } from './runner-types.js';
import type { EngineStats } from './types.js';
import type { FinishReason, SamplingParams } from '../shared/sampling.js';
import { BusyError, ContextLengthExceededError, InvalidRequestError } from '../shared/errors.js';
import { BlockPool } from './block-pool.js';
import type { KvArray } from './paged-kv.js';
import { KvCacheManager } from './kv-cache-manager.js';
import { randomSeed } from './rng.js';
import { Sampler, type SampledToken } from './sampler.js';
import { Scheduler, type SchedulePlan } from './scheduler.js';
import { RequestState, type Sequence } from './sequence.js';
import { SPECULATIVE_MODES, Speculator, type SpeculativeConfig } from './speculative/speculator.js';

export interface EngineCoreOptions {
  /**
   * Draft model for speculative 'draft' requests: same vocabulary and block size as the target,
   * at least as many blocks (its KV lives under the target's block ids).
   */
  draftRunner?: ModelRunner | null;
  speculative?: Partial<SpeculativeConfig>;
  /**
   * Where requests without a seed get theirs (default: crypto). Tests pass a counter so that
   * unseeded sampling is repeatable too.
   */
  randomSeed?: () => number;
}

export class EngineCore {
  readonly pool: BlockPool;
  readonly kv: KvCacheManager;
  readonly scheduler: Scheduler;
  readonly speculator: Speculator;
  private readonly sampler: Sampler;
  private readonly randomSeed: () => number;
  private readonly bytesPerToken: number;
  private stepping = false;

  constructor(
    private readonly runner: ModelRunner,
    private readonly config: EngineCoreConfig,
    options: EngineCoreOptions = {},
  ) {
    if (config.blockSize !== runner.blockSize) {
      throw new Error(
        `block size ${config.blockSize} differs from the runner's ${runner.blockSize}`,
      );
    }
    if (config.numBlocks > runner.numBlocks) {
      throw new Error(`${config.numBlocks} blocks asked, the runner holds ${runner.numBlocks}`);
    }
    for (const [name, value] of Object.entries({
      numBlocks: config.numBlocks,
      blockSize: config.blockSize,
      maxRunning: config.maxRunning,
      maxBatchTokens: config.maxBatchTokens,
      maxModelLen: config.maxModelLen,
    })) {
      if (!Number.isInteger(value) || value < 1)
        throw new RangeError(`${name} must be a positive integer`);
    }
    const draft = options.draftRunner ?? null;
    if (draft !== null) {
      if (draft.vocabSize !== runner.vocabSize)
        throw new Error(
          `the draft model's vocabulary (${draft.vocabSize}) differs from the model's (${runner.vocabSize})`,
        );
      if (draft.blockSize !== runner.blockSize || draft.numBlocks < config.numBlocks)
        throw new Error(
          'the draft runner must have the same block size and at least as many blocks',
        );
    }
    this.pool = new BlockPool(config.numBlocks);
    this.kv = new KvCacheManager(
      this.pool,
      config.blockSize,
      config.enablePrefixCaching,
      (src, dst) => {
        runner.copyBlock(src, dst);
        this.speculator.copyBlock(src, dst);
      },
    );
    this.scheduler = new Scheduler(config, this.kv);
    this.sampler = new Sampler(runner.vocabSize);
    this.randomSeed = options.randomSeed ?? randomSeed;
    this.speculator = new Speculator(this.kv, this.sampler, draft, options.speculative);
    this.bytesPerToken = kvBytesPerToken(runner.geometry);
  }

  /**
   * Queues a request. Throws InvalidRequestError on bad input, ContextLengthExceededError when
   * the prompt plus one generated token cannot fit the context or the whole KV pool, BusyError
   * when the waiting queue is full.
   */
  addRequest(req: CoreRequest): void {
    if (this.scheduler.has(req.id))
      throw new InvalidRequestError(`request id '${req.id}' is already in flight`);
    this.validate(req);
    const promptLen = req.promptTokenIds.length;
    if (promptLen + 1 > this.config.maxModelLen) {
      throw new ContextLengthExceededError(
        `This model's maximum context length is ${this.config.maxModelLen} tokens, but the prompt has ` +
          `${promptLen} tokens and at least one token must be generated.`,
      );
    }
    const capacity = this.config.numBlocks * this.config.blockSize;
    if (promptLen + 1 > capacity) {
      throw new ContextLengthExceededError(
        `The KV cache holds ${capacity} tokens, but the prompt has ${promptLen} tokens and at least one ` +
          `token must be generated.`,
      );
    }
    // The bound is on requests left waiting: those that free running slots take at the next
    // step do not count (a burst on an idle engine is admitted up to maxRunning first).
    const free = Math.max(0, this.config.maxRunning - this.scheduler.usedSlots);
    if (this.scheduler.waiting.length - free >= this.config.maxWaiting) throw new BusyError();
    const seed = req.params.seed ?? this.randomSeed();
    this.scheduler.add(new RequestState(req.id, req.promptTokenIds.slice(), req.params, seed));
  }

  /** Unknown or finished ids are ignored. The final 'abort' output comes from the next step. */
  abort(requestId: string): void {
    this.scheduler.abort(requestId);
  }

  /**
   * Ends one choice of a request at the next step, freeing its blocks, e.g. when the host
   * matched a stop string in its text (reason 'stop'). The others keep generating.
   */
  finishChoice(requestId: string, index: number, reason: FinishReason = 'stop'): void {
    this.scheduler.finishChoice(requestId, index, reason);
  }

  /**
   * The keys and values of the cached full blocks that start `tokens` (empty when the runner
   * cannot read blocks): what another replica of the model imports with importPrefix.
   */
  exportPrefix(
    tokens: readonly number[],
    reuse: ArrayBuffer | null = null,
  ): { blocks: number; data: KvArray | null } {
    if (!this.runner.readBlocks) return { blocks: 0, data: null };
    const chain = this.kv.cachedChain(tokens);
    return {
      blocks: chain.length,
      data: chain.length > 0 ? this.runner.readBlocks(chain, reuse) : null,
    };
  }

  /**
   * Whether exportPrefix(tokens) would give fewer than all their full blocks while a request
   * here still has them to compute: worth answering at the end of the step that computes them.
   */
  computingPrefix(tokens: readonly number[]): boolean {
    const full = Math.floor(tokens.length / this.config.blockSize);
    if (full === 0 || this.kv.cachedChain(tokens).length >= full) return false;
    const { running, waiting } = this.scheduler;
    const n = full * this.config.blockSize;
    const startsWith = (seq: Sequence) => {
      if (seq.tokens.length < n || seq.numComputedTokens >= n) return false;
      for (let i = 0; i < n; i++) if (seq.tokens[i] !== tokens[i]) return false;
      return true;
    };
    return running.some(startsWith) || waiting.some(startsWith);
  }

  /**
   * Caches the first `blocks` full blocks of `tokens` from another replica's exportPrefix.
   * Only between steps. Returns the number of blocks written (0 without prefix caching).
   */
  importPrefix(tokens: readonly number[], blocks: number, data: KvArray): number {
    const write = this.runner.writeBlock?.bind(this.runner);
    if (!write) return 0;
    // Never read past what arrived: a short payload would otherwise throw inside the step loop.
    const g = this.runner.geometry;
    const perBlock = 2 * g.numLayers * g.numKvHeads * this.config.blockSize * g.headDim;
    const whole = Math.min(blocks, Math.floor(data.length / perBlock));
    return this.kv.adoptChain(tokens, whole, (block, index) => write(block, data, index));
  }

  hasWork(): boolean {
    return this.scheduler.hasWork();
  }

  async step(): Promise<CoreOutput[]> {
    if (this.stepping) throw new Error('EngineCore.step() called while a step is running');
    this.stepping = true;
    try {
      const { scheduler } = this;
      scheduler.processHostRequests();
      this.speculator.planDrafts(scheduler.running, scheduler.waiting.length);
      const plan = scheduler.schedule();
      if (plan.scheduled.length === 0) return scheduler.takeOutputs();
      await this.speculator.propose(plan);
      const result = await this.runner.execute(plan.scheduled.map((s) => s.runner));
      const outputs = scheduler.update(plan, this.sampleAll(plan, result));
      this.speculator.afterUpdate();
      return outputs;
    } finally {
      this.stepping = false;
    }
  }

  stats(): EngineStats {
    const { scheduler, pool, config } = this;
    const c = scheduler.counters;
    return {
      running: scheduler.running.length,
      waiting: scheduler.waiting.length,
      kv: {
        blockSize: config.blockSize,
        totalBlocks: config.numBlocks,
        usedBlocks: pool.numUsedBlocks,
        usage: pool.numUsedBlocks / config.numBlocks,
        bytesPerToken: this.bytesPerToken,
        capacityTokens: config.numBlocks * config.blockSize,
      },
      prefixCache: {
        queriedTokens: c.prefixQueriedTokens,
        hitTokens: c.prefixHitTokens,
        hitRate: c.prefixQueriedTokens === 0 ? 0 : c.prefixHitTokens / c.prefixQueriedTokens,
      },
      counters: {
        promptTokens: c.promptTokens,
        generationTokens: c.generationTokens,
        steps: c.steps,
        preemptions: c.preemptions,
        finished: { ...c.finished },
      },
      speculative: this.speculator.stats(),
    };
  }

  /** Throws if the KV bookkeeping is inconsistent (tests call it between steps). */
  checkInvariants(): void {
    this.pool.checkInvariants(this.scheduler.blockHolders());
  }

  private sampleAll(plan: SchedulePlan, result: RunnerStepOutput): Map<number, SampledToken[]> {
    const vocab = this.runner.vocabSize;
    const samples = new Map<number, SampledToken[]>();
    for (const entry of plan.scheduled) {
      const { seq, runner } = entry;
      if (runner.numLogits === 0 || seq.request.aborted) continue;
      const logits = result.logits.get(seq.seqId);
      if (logits === undefined || logits.length < vocab * runner.numLogits) {
        throw new Error(`runner returned no logits for sequence ${seq.seqId}`);
      }
      if (entry.numDrafts > 0) {
        samples.set(seq.seqId, this.speculator.verify(entry, logits));
        continue;
      }
      const row = logits.subarray(logits.length - vocab);
      const params = seq.request.params;
      // The sequence that finishes the prompt of a multi-choice request samples every choice
      // from the same logits, each with its own generator.
      const choices = seq.forkPending ? seq.request.choices : [seq.choice];
      samples.set(
        seq.seqId,
        choices.map((choice) => this.sampler.sample(row, params, choice)),
      );
    }
    return samples;
  }

  private validate(req: CoreRequest): void {
    const p: SamplingParams = req.params;
    const ids = req.promptTokenIds;
    if (ids.length === 0)
      throw new InvalidRequestError('The prompt must contain at least one token.', 'prompt');
    const vocab = this.runner.vocabSize;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= vocab) {
        throw new InvalidRequestError(
          `Prompt token id ${id} is outside the vocabulary (0..${vocab - 1}).`,
          'prompt',
        );
      }
    }
    const check = (ok: boolean, param: string, rule: string): void => {
      if (!ok) throw new InvalidRequestError(`'${param}' ${rule}.`, param);
    };
    check(Number.isInteger(p.n) && p.n >= 1, 'n', 'must be a positive integer');
    check(
      Number.isInteger(p.maxTokens) && p.maxTokens >= 1,
      'max_tokens',
      'must be a positive integer',
    );
    check(Number.isFinite(p.temperature) && p.temperature >= 0, 'temperature', 'must be 0 or more');
    check(p.topP > 0 && p.topP <= 1, 'top_p', 'must be in (0, 1]');
    check(Number.isFinite(p.topK), 'top_k', 'must be a number');
    check(p.minP >= 0 && p.minP <= 1, 'min_p', 'must be in [0, 1]');
    check(
      Number.isFinite(p.repetitionPenalty) && p.repetitionPenalty > 0,
      'repetition_penalty',
      'must be above 0',
    );
    check(Number.isFinite(p.presencePenalty), 'presence_penalty', 'must be a number');
    check(Number.isFinite(p.frequencyPenalty), 'frequency_penalty', 'must be a number');
    check(
      Number.isInteger(p.topLogprobs) && p.topLogprobs >= 0 && p.topLogprobs <= 20,
      'top_logprobs',
      'must be an integer in 0..20',
    );
    check(p.seed === null || Number.isFinite(p.seed), 'seed', 'must be an integer');
    check(
      p.speculative === undefined || SPECULATIVE_MODES.includes(p.speculative),
      'speculative',
      `must be one of ${SPECULATIVE_MODES.join(', ')}`,
    );
  }
}
