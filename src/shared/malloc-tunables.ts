/**
 * glibc malloc settings for processes that run ONNX Runtime.
 *
 * onnxruntime-node copies every output of a run into a fresh ArrayBuffer (even when the caller
 * passed pre-allocated fetches), and a decode step's KV outputs are megabytes. glibc serves
 * blocks that large with mmap and unmaps them on free, so every step faults its output pages in
 * again: on a 2-core VM that was 2,850 page faults and ~70 % of a 32-row decode step. Raising
 * the mmap threshold keeps those blocks in the heap and reuses them (measured: 37 → 5.6 ms per
 * 32-row step in isolation, 12 → 8.6 ms inside the engine). glibc reads GLIBC_TUNABLES once at
 * start-up, so the variable has to be in the environment the process starts with.
 *
 * The heap is also backed by transparent huge pages where the kernel offers them on request
 * (`madvise` mode, the common default; glibc 2.35+, older ones ignore the setting). The KV block
 * pool is hundreds of megabytes and every step touches a few slots in many blocks, so with 4 KiB
 * pages nearly each slot write was a TLB miss. Measured on a 32-stream burst (128 + 128 tokens,
 * alternating runs): writing a step's new keys and values into their blocks went from ~0.37 ms
 * to 0.1–0.3 ms, ONNX Runtime's own time fell ~5 %, the burst as a whole ran ~10 % faster.
 *
 * One arena for every thread: glibc gives each thread that allocates its own arena, built of
 * 64 MiB sub-heaps that it maps and unmaps as they fill and empty, so the engine workers' output
 * copies (freed only when V8 collects them) kept landing in fresh pages: 700–1,900 page faults
 * in a worker per shared-prefix burst. In the main heap, which is never trimmed, memory freed by
 * any thread is reused by all: mostly under 150. Six alternating runs of each on 2 cores: a
 * 32-stream burst's tokens/s 1.01–1.29× (median 1.08×), a shared-prefix burst's time to first
 * token (p50, cache on) 74–87 ms against 83–127 ms. The threads allocate few, large blocks, so
 * sharing the arena's lock costs nothing measurable.
 */

/**
 * Always-heap allocations, freed heap memory kept rather than trimmed back each step, the heap
 * on huge pages, and one heap for every thread.
 */
export const MALLOC_TUNABLES = [
  'glibc.malloc.mmap_threshold=2147483647',
  'glibc.malloc.trim_threshold=4294967295',
  'glibc.malloc.hugetlb=1',
  'glibc.malloc.arena_max=1',
] as const;

/** True where the tunables apply and `env` does not carry them yet (a user's own setting wins). */
export function needsMallocTunables(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
): boolean {
  if (platform !== 'linux') return false;
  const current = env.GLIBC_TUNABLES ?? '';
  return !current.includes('glibc.malloc.mmap_threshold');
}

/**
 * A copy of `env` with the tunables appended to any GLIBC_TUNABLES already there; a tunable the
 * user set keeps their value.
 */
export function withMallocTunables(
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
): NodeJS.ProcessEnv {
  if (!needsMallocTunables(env, platform)) return { ...env };
  const current = env.GLIBC_TUNABLES ?? '';
  const parts = current.split(':').filter((p) => p.length > 0);
  const theirs = new Set(parts.map((p) => p.split('=')[0]));
  const ours = MALLOC_TUNABLES.filter((t) => !theirs.has(t.split('=')[0]));
  return { ...env, GLIBC_TUNABLES: [...parts, ...ours].join(':') };
}
