/**
 * Body validation with zod, turned into OpenAI-style 400s that name the offending `param`
 * (e.g. `messages[1].content`, `temperature`). Parameters Orchard knows but cannot honour are
 * rejected by name before schema checks, so they are never silently ignored.
 */
import type { z } from 'zod';
import { InvalidRequestError } from '../../shared/errors.js';

/** A path as OpenAI prints it: messages[0].content. */
export function paramPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
  errors?: Issue[][];
}

function describe(issue: Issue): { message: string; param: string } {
  const param = paramPath(issue.path);
  if (issue.code === 'unrecognized_keys' && issue.keys && issue.keys.length > 0) {
    const full = paramPath([...issue.path, issue.keys[0]]);
    return { message: `Unrecognized request argument supplied: ${full}`, param: full };
  }
  if (issue.code === 'invalid_union' && issue.errors && issue.errors.length > 0) {
    // Report the branch that got furthest into the value: it is the one the client meant.
    const branches = issue.errors.filter((b) => b.length > 0);
    const deepest = branches.sort(
      (a, b) => Math.max(...b.map((i) => i.path.length)) - Math.max(...a.map((i) => i.path.length)),
    )[0];
    if (deepest && deepest[0].path.length > 0) {
      const inner = describe({ ...deepest[0], path: [...issue.path, ...deepest[0].path] });
      return inner;
    }
  }
  const where = param === '' ? 'request body' : `'${param}'`;
  return { message: `Invalid value for ${where}: ${issue.message}`, param };
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidRequestError('The request body must be a JSON object.');
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const { message, param } = describe(result.error.issues[0] as unknown as Issue);
  throw new InvalidRequestError(message, param === '' ? null : param);
}

/**
 * name → values that mean "nothing to do" and are accepted (null always is). Any other value is
 * rejected with a 400 naming the parameter.
 */
export type UnsupportedRule = (value: unknown) => boolean;

export const neutral = {
  none: (): boolean => false,
  emptyList: (v: unknown): boolean => Array.isArray(v) && v.length === 0,
  equals:
    (...allowed: unknown[]) =>
    (v: unknown): boolean =>
      allowed.some((a) => JSON.stringify(a) === JSON.stringify(v)),
};

export function rejectUnsupported(
  body: unknown,
  rules: Readonly<Record<string, UnsupportedRule>>,
): void {
  if (typeof body !== 'object' || body === null) return;
  const record = body as Record<string, unknown>;
  for (const [name, isNeutral] of Object.entries(rules)) {
    if (!(name in record)) continue;
    const v = record[name];
    if (v === null || v === undefined || isNeutral(v)) continue;
    throw new InvalidRequestError(
      `Orchard does not support the '${name}' parameter${describeValue(v)}.`,
      name,
      'unsupported_parameter',
    );
  }
}

function describeValue(v: unknown): string {
  if (typeof v === 'boolean' || typeof v === 'number') return ` (got ${String(v)})`;
  return '';
}
