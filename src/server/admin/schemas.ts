/** Request bodies and queries of the registry admin routes (src/shared/admin-api.ts). */
import { z } from 'zod';

const name = z.string().min(1).max(128);
const version = z.string().min(1).max(64);

export const importBody = z.strictObject({
  path: z.string().min(1),
  name: name.optional(),
  version: version.optional(),
});

export const pullBody = z.strictObject({
  repo: z.string().min(1).max(200),
  revision: z.string().min(1).max(200).optional(),
  filePattern: z.string().min(1).max(200).optional(),
  name: name.optional(),
  version: version.optional(),
});

export const createDeploymentBody = z.strictObject({ name, model: name, version });

export const deployBody = z.strictObject({ version });

/** Weight bounds are checked by the rollout controller so the message is the same everywhere. */
export const canaryBody = z.strictObject({
  version,
  weight: z.number(),
  mode: z.enum(['canary', 'shadow']).default('canary'),
});

export const weightBody = z.strictObject({ weight: z.number() });

export const rollbackBody = z.strictObject({ reason: z.string().max(500).optional() });

export const policyBody = z.strictObject({
  maxErrorRate: z.number().min(0).max(1),
  maxTtftRatio: z.number().min(1),
  minRequests: z.number().int().min(1),
  autoPromoteAfter: z.number().int().min(0),
});

export const speculativeBody = z.strictObject({
  mode: z.enum(['off', 'draft', 'lookup', 'default']),
});

export const historyQuery = z.strictObject({
  model: z.string().optional(),
  version: z.string().optional(),
  minutes: z.coerce
    .number()
    .int()
    .min(1)
    .max(90 * 24 * 60)
    .default(60),
});

export const eventsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});
