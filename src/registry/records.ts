/** Rows of registry.db as the rest of the service sees them (camelCase, parsed JSON). */
import type {
  CandidateMode,
  DeploymentSummary,
  RolloutPolicy,
  VersionState,
} from '../shared/admin-api.js';
import type { Architecture } from './model-folder.js';

export interface VersionRecord {
  id: number;
  modelId: number;
  model: string;
  version: string;
  state: VersionState;
  source: string;
  storage: 'store' | 'shipped';
  /** Relative to ORCHARD_HOME ('store') or to the shipped models folder ('shipped'). */
  path: string;
  digest: string;
  sizeBytes: number;
  weightsBytes: number;
  architecture: Architecture;
  numParams: number | null;
  contextLength: number;
  onnxFile: string;
  fingerprint: string | null;
  error: string | null;
  createdAt: string;
}

export interface CandidateRecord {
  versionId: number;
  version: string;
  /** Percent of traffic, 0..100. */
  weight: number;
  mode: CandidateMode;
  since: string;
}

export interface DeploymentRecord {
  id: number;
  name: string;
  modelId: number;
  model: string;
  stableVersionId: number;
  stable: string;
  candidate: CandidateRecord | null;
  policy: RolloutPolicy;
  speculative: DeploymentSummary['speculative'];
  createdAt: string;
  updatedAt: string;
}

export const DEFAULT_POLICY: Readonly<RolloutPolicy> = Object.freeze({
  maxErrorRate: 0.05,
  maxTtftRatio: 3,
  minRequests: 20,
  autoPromoteAfter: 0,
});

export function summaryOf(d: DeploymentRecord): DeploymentSummary {
  return {
    name: d.name,
    model: d.model,
    stable: d.stable,
    candidate: d.candidate
      ? { version: d.candidate.version, weight: d.candidate.weight, mode: d.candidate.mode }
      : null,
    policy: { ...d.policy },
    speculative: d.speculative,
    updatedAt: d.updatedAt,
  };
}
