/**
 * How one step's sequences are split into ONNX Runtime calls. Rows of one call are padded to the
 * same length, so decodes (one token each) go together and prefill chunks are grouped only with
 * chunks of similar length; a graph without position_ids cannot take padding at all, so there
 * only identical (start, length) rows share a call.
 */
import type { RunnerSequence } from './runner-types.js';

/** Padding a group may add, as a share of its real tokens, before a new group is started. */
const MAX_PAD_RATIO = 1.25;
/** Small groups may always pad this many tokens per row. */
const PAD_SLACK = 32;
/**
 * Rows this short (speculative verifications, short chunks) share one call whatever their past:
 * padding a short row's past costs less than another call.
 */
const SHORT_ROW = 16;
/**
 * Decodes join the short rows' call when those are at most this long (a draft model catching up
 * on one or two tokens): a pad token per decode costs less than a second call.
 */
const MERGE_DECODES_UP_TO = 2;
/**
 * Most rows × context positions in one decode call. The graph's dense attention materialises
 * per-row tensors of that size (grouped-query graphs also copy K/V once per query head); past
 * roughly ten thousand positions they fall out of cache and a call slows down more than
 * linearly. Measured on the shipped chat model, 2 cores: 64 rows at 193 positions take 19.7 ms
 * in one call and 15.9 ms in two, 32 rows at 193 positions 8.0 ms in one and 9.7 ms in two.
 */
export const DECODE_SLOTS = 12_288;
/** Fewer rows per call than this and the per-call overhead outweighs the cache effect. */
const MIN_DECODE_ROWS = 8;

/** Splits decodes into calls of similar context length within DECODE_SLOTS. */
export function splitDecodes(decodes: RunnerSequence[], slots = DECODE_SLOTS): RunnerSequence[][] {
  if (decodes.length === 0) return [];
  let maxT = 0;
  for (const d of decodes) maxT = Math.max(maxT, d.startPosition + 1);
  const calls = Math.min(
    Math.ceil((decodes.length * maxT) / slots),
    Math.floor(decodes.length / MIN_DECODE_ROWS),
  );
  if (calls <= 1) return [decodes];
  // Longest contexts together, so short rows are not padded to long ones.
  const sorted = [...decodes].sort((a, b) => b.startPosition - a.startPosition);
  const per = Math.ceil(sorted.length / calls);
  const out: RunnerSequence[][] = [];
  for (let i = 0; i < sorted.length; i += per) out.push(sorted.slice(i, i + per));
  return out;
}

export function planGroups(
  sequences: readonly RunnerSequence[],
  canPad: boolean,
  decodeSlots = DECODE_SLOTS,
): RunnerSequence[][] {
  if (!canPad) {
    const byShape = new Map<string, RunnerSequence[]>();
    for (const s of sequences) {
      const key = `${s.startPosition}:${s.tokenIds.length}`;
      const g = byShape.get(key);
      if (g) g.push(s);
      else byShape.set(key, [s]);
    }
    return [...byShape.values()];
  }
  let decodes = sequences.filter((s) => s.tokenIds.length === 1);
  const short = sequences.filter((s) => s.tokenIds.length > 1 && s.tokenIds.length <= SHORT_ROW);
  if (short.length > 0 && short.every((s) => s.tokenIds.length <= MERGE_DECODES_UP_TO)) {
    short.unshift(...decodes);
    decodes = [];
  }
  const chunks = sequences
    .filter((s) => s.tokenIds.length > SHORT_ROW)
    .sort((a, b) => b.tokenIds.length - a.tokenIds.length);
  const groups: RunnerSequence[][] = splitDecodes(decodes, decodeSlots);
  let current: RunnerSequence[] = [];
  let sumLen = 0;
  let sumPast = 0;
  let maxPast = 0;
  for (const s of chunks) {
    if (current.length > 0) {
      const n = current.length + 1;
      const maxLen = current[0].tokenIds.length; // sorted: the first is the longest
      const len = sumLen + s.tokenIds.length;
      const past = sumPast + s.startPosition;
      const mp = Math.max(maxPast, s.startPosition);
      const fitsLen = n * maxLen <= Math.max(MAX_PAD_RATIO * len, len + PAD_SLACK * n);
      const fitsPast = n * mp <= Math.max(MAX_PAD_RATIO * past, past + PAD_SLACK * n);
      if (!fitsLen || !fitsPast) {
        groups.push(current);
        current = [];
        sumLen = sumPast = maxPast = 0;
      }
    }
    current.push(s);
    sumLen += s.tokenIds.length;
    sumPast += s.startPosition;
    maxPast = Math.max(maxPast, s.startPosition);
  }
  if (current.length > 0) groups.push(current);
  if (short.length > 0) groups.push(short);
  return groups;
}
