/**
 * Picks the version that serves one request: pure, with the random source injected so tests can
 * count exactly. A request with `user` lands in a fixed bucket (hash of deployment + user), so a
 * user stays on one side of a canary for its whole life instead of flapping between versions.
 */
import { createHash } from 'node:crypto';
import type { CandidateMode } from '../shared/admin-api.js';

export type RandomSource = () => number;

export interface RouteTable {
  name: string;
  model: string;
  stable: string;
  candidate: { version: string; weight: number; mode: CandidateMode } | null;
}

export interface RouteChoice {
  /** The version that answers the client. */
  version: string;
  role: 'stable' | 'candidate' | 'pinned';
  /** A shadow candidate that gets a copy of the request, or null. */
  mirrorTo: string | null;
}

export const BUCKETS = 10_000;

/** Stable bucket 0..9999 for a key (first 32 bits of sha256: uniform, same on every platform). */
export function bucketOf(key: string): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0) % BUCKETS;
}

/** A draw in [0, 1): sticky per user when one is given, else from the random source. */
function draw(table: RouteTable, user: string | undefined, random: RandomSource): number {
  if (user !== undefined && user !== '') return bucketOf(`${table.name}\u0000${user}`) / BUCKETS;
  return random();
}

export function route(
  table: RouteTable,
  context: { user?: string },
  random: RandomSource = Math.random,
): RouteChoice {
  const c = table.candidate;
  if (!c || c.weight <= 0) return { version: table.stable, role: 'stable', mirrorTo: null };
  const x = draw(table, context.user, random);
  const hit = x * 100 < c.weight;
  if (c.mode === 'shadow')
    return { version: table.stable, role: 'stable', mirrorTo: hit ? c.version : null };
  return hit
    ? { version: c.version, role: 'candidate', mirrorTo: null }
    : { version: table.stable, role: 'stable', mirrorTo: null };
}

export interface ModelRef {
  name: string;
  /** Set for `name@version`. */
  version: string | null;
}

/** `orchard-chat` → deployment or model; `orchard-chat@2` → a pinned version. */
export function parseModelRef(model: string): ModelRef {
  const at = model.lastIndexOf('@');
  if (at <= 0 || at === model.length - 1) return { name: model, version: null };
  return { name: model.slice(0, at), version: model.slice(at + 1) };
}
