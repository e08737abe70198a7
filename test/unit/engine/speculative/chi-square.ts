/** Pearson's chi-square goodness-of-fit test, for checking sampled tokens against a distribution. */

export interface ChiSquare {
  statistic: number;
  df: number;
  /** Critical value at the chosen significance level. */
  critical: number;
  pass: boolean;
}

/** Upper quantile of chi-square(df) by the Wilson–Hilferty approximation; z is the normal quantile. */
export function chiSquareCritical(df: number, z = 3.29): number {
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/**
 * `counts[i]` draws of outcome i against probabilities `probs` (summing to at most 1). Outcomes
 * expected fewer than 5 times are pooled into one bin, as the test requires. z = 3.29 is a
 * 0.05% significance level: a correct sampler fails about once in 2,000 seeds, and the tests
 * use fixed seeds.
 */
export function chiSquare(
  counts: ArrayLike<number>,
  probs: ArrayLike<number>,
  z = 3.29,
): ChiSquare {
  let n = 0;
  for (let i = 0; i < counts.length; i++) n += counts[i];
  let statistic = 0;
  let bins = 0;
  let pooledObserved = 0;
  // Probability mass not listed (e.g. a truncated sum over unlikely prefixes) is pooled too.
  let listed = 0;
  for (let i = 0; i < probs.length; i++) listed += probs[i];
  let pooledExpected = Math.max(0, 1 - listed) * n;
  for (let i = 0; i < probs.length; i++) {
    const expected = probs[i] * n;
    if (expected < 5) {
      pooledObserved += counts[i] ?? 0;
      pooledExpected += expected;
      continue;
    }
    statistic += (counts[i] - expected) ** 2 / expected;
    bins++;
  }
  if (pooledExpected > 0) {
    statistic += (pooledObserved - pooledExpected) ** 2 / Math.max(pooledExpected, 1e-12);
    bins++;
  }
  const df = Math.max(1, bins - 1);
  const critical = chiSquareCritical(df, z);
  return { statistic, df, critical, pass: statistic <= critical };
}
