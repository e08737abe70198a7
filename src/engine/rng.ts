/**
 * Small, fast, seedable generator for sampling. Each choice of each request owns one, so the
 * tokens a seed produces never depend on what else shares the batch (Math.random would).
 * xoshiro128** (Blackman & Vigna), seeded through splitmix32 so nearby seeds give unrelated
 * streams.
 */
import { randomInt } from 'node:crypto';

const TWO_POW_32 = 4294967296;

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /**
   * `seed` may be any integer JS number (OpenAI seeds can exceed 32 bits or be negative).
   * `stream` picks one of a seed's independent streams (a request's choice index), so choice 1
   * of seed 5 is not choice 0 of seed 6; stream 0 is the seed's own.
   */
  constructor(seed: number, stream = 0) {
    const int = Number.isFinite(seed) ? Math.trunc(seed) : 0;
    const lo = int >>> 0;
    const hi = Math.floor(int / TWO_POW_32) >>> 0;
    const mix = { s: lo ^ Math.imul(hi, 0x27d4eb2d) };
    if (stream !== 0) {
      const salt = { s: Math.imul(stream, 0x632be5ab) ^ 0x5bd1e995 };
      mix.s ^= splitmix32(salt);
      splitmix32(mix);
    }
    this.a = splitmix32(mix);
    this.b = splitmix32(mix);
    this.c = splitmix32(mix);
    this.d = splitmix32(mix);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  nextFloat(): number {
    return this.nextU32() / TWO_POW_32;
  }

  /**
   * The value nextFloat() will return after `ahead` more draws, without drawing: a draft model
   * proposing for a seeded request uses the very numbers the target's sampler will use.
   */
  peekFloat(ahead = 0): number {
    const copy = Object.create(Rng.prototype) as Rng;
    copy.a = this.a;
    copy.b = this.b;
    copy.c = this.c;
    copy.d = this.d;
    for (let i = 0; i < ahead; i++) copy.nextU32();
    return copy.nextFloat();
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A fresh seed for requests that do not give one. */
export function randomSeed(): number {
  return randomInt(0, 2 ** 48 - 1);
}
