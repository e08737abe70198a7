/**
 * Prompt lookup (after vLLM's ngram proposer): find the longest suffix of the sequence, from
 * maxN down to minN tokens, that occurred earlier in the prompt or output, and propose the tokens
 * that followed its most recent earlier occurrence. No second model: the proposal costs a scan.
 *
 * Continuing past the end of the sequence reads the proposal itself, so a loop of period p
 * (common in small models' greedy output) is proposed k tokens deep, not only p.
 */
export function proposeByLookup(
  tokens: readonly number[],
  k: number,
  minN: number,
  maxN: number,
): number[] {
  const len = tokens.length;
  if (k <= 0) return [];
  for (let n = Math.min(maxN, len - 1); n >= Math.max(1, minN); n--) {
    const suffix = len - n;
    const last = tokens[len - 1];
    for (let i = len - n - 1; i >= 0; i--) {
      if (tokens[i + n - 1] !== last) continue;
      let j = 0;
      while (j < n - 1 && tokens[i + j] === tokens[suffix + j]) j++;
      if (j < n - 1) continue;
      const out: number[] = [];
      for (let m = 0; m < k; m++) {
        const at = i + n + m;
        out.push(at < len ? tokens[at] : out[at - len]);
      }
      return out;
    }
  }
  return [];
}
