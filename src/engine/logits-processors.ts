/**
 * Logits processors: each one edits a row of logits in place. The sampler runs them in a fixed
 * order (bias → penalties → temperature → top-k → top-p → min-p). Masked tokens become
 * -Infinity. Everything is O(vocab) except top-p, which sorts only the surviving candidates.
 */

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** OpenAI logit_bias: added to the logit (keys arrive as strings from JSON). */
export function applyLogitBias(logits: Float32Array, bias: Readonly<Record<number, number>>): void {
  for (const key in bias) {
    const id = Number(key);
    if (Number.isInteger(id) && id >= 0 && id < logits.length) logits[id] += bias[id];
  }
}

/**
 * Hugging Face / vLLM repetition penalty over every token seen (prompt + output): positive
 * logits are divided by the penalty, negative ones multiplied, so the token always gets less
 * likely for penalty > 1.
 */
export function applyRepetitionPenalty(
  logits: Float32Array,
  seen: Iterable<number>,
  penalty: number,
): void {
  for (const id of seen) {
    if (id < 0 || id >= logits.length) continue;
    const v = logits[id];
    logits[id] = v > 0 ? v / penalty : v * penalty;
  }
}

/** OpenAI presence / frequency penalties over the generated tokens only. */
export function applyPresenceFrequencyPenalties(
  logits: Float32Array,
  outputCounts: ReadonlyMap<number, number>,
  presence: number,
  frequency: number,
): void {
  for (const [id, count] of outputCounts) {
    if (id < 0 || id >= logits.length) continue;
    logits[id] -= frequency * count + (count > 0 ? presence : 0);
  }
}

export function applyTemperature(logits: Float32Array, temperature: number): void {
  const inv = 1 / temperature;
  for (let i = 0; i < logits.length; i++) logits[i] *= inv;
}

/**
 * Keeps the k highest logits (and any tied with the k-th, as Hugging Face does). `scratch`
 * must be at least as long as `logits`.
 */
export function applyTopK(logits: Float32Array, k: number, scratch: Float32Array): void {
  const n = logits.length;
  if (k <= 0 || k >= n) return;
  const work = scratch.subarray(0, n);
  work.set(logits);
  const threshold = selectNth(work, n - k);
  for (let i = 0; i < n; i++) if (logits[i] < threshold) logits[i] = -Infinity;
}

/**
 * Nucleus filter: keeps the smallest set of most likely tokens whose probability reaches p
 * (a token stays if the mass strictly before it, in descending order with lower ids first on
 * ties, is below p). `keys` must be at least as long as `logits`.
 *
 * No full sort: a histogram of probability mass over logit distance from the max finds the
 * bucket where the cumulative mass crosses p. Tokens in earlier buckets have less than p ahead
 * of them (kept), tokens in later ones at least p (dropped); only the crossing bucket is sorted.
 */
export function applyTopP(logits: Float32Array, p: number, keys: Float64Array): void {
  if (p >= 1) return;
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i] > max) max = logits[i];
  if (max === -Infinity) return;
  const mass = BUCKET_MASS.fill(0);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = logits[i];
    if (v === -Infinity) continue;
    const e = Math.exp(v - max);
    mass[bucketOf(max - v)] += e;
    sum += e;
  }
  // Buckets before the boundary bucket are kept whole, buckets after it dropped whole; only
  // the boundary bucket's tokens need ordering.
  const limit = p * sum;
  let boundary = 0;
  let before = 0;
  while (boundary < NUM_BUCKETS && before + mass[boundary] < limit) before += mass[boundary++];

  const idBits = Math.max(1, Math.ceil(Math.log2(n)));
  const idScale = 2 ** idBits;
  let m = 0;
  for (let i = 0; i < n; i++) {
    const v = logits[i];
    if (v === -Infinity) continue;
    const b = bucketOf(max - v);
    if (b < boundary) continue;
    if (b > boundary) {
      logits[i] = -Infinity;
      continue;
    }
    // One native numeric sort orders by descending logit, then ascending id: the key is the
    // logit's order-preserving bit pattern, inverted, with the id in the low bits.
    F32[0] = v;
    const u = U32[0];
    const ordered = u & 0x80000000 ? ~u >>> 0 : (u | 0x80000000) >>> 0;
    keys[m++] = (0xffffffff - ordered) * idScale + i;
  }
  const sorted = keys.subarray(0, m).sort();
  let cumulative = before;
  let kept = 0;
  for (; kept < m; kept++) {
    if (kept > 0 && cumulative >= limit) break;
    cumulative += Math.exp(logits[sorted[kept] % idScale] - max);
  }
  for (let j = kept; j < m; j++) logits[sorted[j] % idScale] = -Infinity;
}

const BUCKETS_PER_NAT = 4;
const NUM_BUCKETS = 96;
const BUCKET_MASS = new Float64Array(NUM_BUCKETS + 1);

function bucketOf(distance: number): number {
  const b = Math.floor(distance * BUCKETS_PER_NAT);
  return b < NUM_BUCKETS ? b : NUM_BUCKETS;
}

/** Drops tokens whose probability is below minP × the top token's probability. */
export function applyMinP(logits: Float32Array, minP: number): void {
  if (minP <= 0) return;
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  const threshold = max + Math.log(minP);
  for (let i = 0; i < logits.length; i++) if (logits[i] < threshold) logits[i] = -Infinity;
}

/** Highest logit; the lowest id wins ties. */
export function argmax(logits: Float32Array): number {
  let best = 0;
  let bestValue = logits[0];
  for (let i = 1; i < logits.length; i++) {
    if (logits[i] > bestValue) {
      bestValue = logits[i];
      best = i;
    }
  }
  return best;
}

/** Inverse-CDF draw from softmax(logits) with one uniform u in [0, 1). */
export function drawFromLogits(logits: Float32Array, u: number, probs: Float32Array): number {
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i] > max) max = logits[i];
  if (max === -Infinity) return argmax(logits);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = logits[i] === -Infinity ? 0 : Math.exp(logits[i] - max);
    probs[i] = e;
    sum += e;
  }
  const target = u * sum;
  let cumulative = 0;
  let last = -1;
  for (let i = 0; i < n; i++) {
    if (probs[i] === 0) continue;
    cumulative += probs[i];
    last = i;
    if (cumulative > target) return i;
  }
  return last;
}

/** log Σ exp(logits), stable. */
export function logSumExp(logits: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return max + Math.log(sum);
}

/** The `count` highest logits as ids, descending, lower id first on ties. */
export function topIds(logits: Float32Array, count: number): number[] {
  const ids: number[] = [];
  if (count <= 0) return ids;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (ids.length === count && v <= logits[ids[count - 1]]) continue;
    let pos = ids.length;
    while (pos > 0 && logits[ids[pos - 1]] < v) pos--;
    ids.splice(pos, 0, i);
    if (ids.length > count) ids.pop();
  }
  return ids;
}

/** Reorders `a` so a[nth] holds the value it would have if sorted ascending; returns it. */
function selectNth(a: Float32Array, nth: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    // Median of three as the pivot keeps sorted or constant inputs linear on average.
    const x = a[lo];
    const y = a[mid];
    const z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (nth <= j) hi = j;
    else if (nth >= i) lo = i;
    else return a[nth];
  }
  return a[nth];
}
