/**
 * The admin HTTP API (under /api) that the CLI and the UI both use. Response and request
 * shapes live here so server routes, CLI commands and the React app share one definition.
 * All routes need the API key (Bearer) or the UI session cookie.
 *
 * Routes:
 *   GET    /api/status                                  → StatusResponse
 *   GET    /api/key                                     → { apiKey }
 *   GET    /api/models                                  → ModelSummary[]
 *   GET    /api/ps                                      → LoadedVersionDetail[]
 *   POST   /api/models/import        ImportRequest      → VersionSummary
 *   POST   /api/models/pull          PullRequest        → JobSummary (progress via /api/jobs/:id and SSE 'job')
 *   GET    /api/jobs                                    → JobSummary[]
 *   GET    /api/jobs/:id                                → JobSummary
 *   POST   /api/models/:model/versions/:version/load    → VersionSummary
 *   POST   /api/models/:model/versions/:version/unload  → VersionSummary
 *   DELETE /api/models/:model/versions/:version         → { deleted: true }
 *   GET    /api/deployments                             → DeploymentSummary[]
 *   GET    /api/deployments/:name                       → DeploymentSummary
 *   POST   /api/deployments          { name, model, version } → DeploymentSummary (create)
 *   POST   /api/deployments/:name/deploy   { version }  → DeploymentSummary (blue-green switch)
 *   POST   /api/deployments/:name/canary   { version, weight, mode } → DeploymentSummary
 *   PATCH  /api/deployments/:name/canary   { weight }   → DeploymentSummary
 *   POST   /api/deployments/:name/promote               → DeploymentSummary
 *   POST   /api/deployments/:name/rollback { reason? }  → DeploymentSummary
 *   PUT    /api/deployments/:name/policy   RolloutPolicy → DeploymentSummary
 *   PUT    /api/deployments/:name/speculative { mode }  → DeploymentSummary
 *   GET    /api/deployments/:name/events                → RolloutEvent[]
 *   GET    /api/metrics/history?model=&version=&minutes= → MetricsBucket[]
 *   GET    /api/logs?level=&limit=                      → LogLine[]
 *   GET    /api/settings                                → SettingView[]
 *   GET    /api/events   (Server-Sent Events)           → event: stats | job | log | rollout
 */
import type { EngineStats } from '../engine/types.js';

export interface LoadedVersionView {
  model: string;
  version: string;
  /** `model@version` */
  servedName: string;
  memoryBytes: number;
  device: string;
  /** Engine workers serving the version (each with its own weights and share of the KV cache). */
  replicas: number;
  stats: EngineStats;
}

/** GET /api/ps: a loaded version with what the lifecycle manager knows about it. */
export interface LoadedVersionDetail extends LoadedVersionView {
  /** Requests running on it now. */
  inflight: number;
  loadedAt: string;
  lastUsedAt: string;
  /** When the keep-alive unloads it; null while busy or kept loaded. */
  expiresAt: string | null;
  /** What it does, e.g. ["orchard-chat: stable"]. */
  roles: string[];
  /** Default speculative mode of its engine, and the draft model folder when it has one. */
  speculative: { mode: 'off' | 'draft' | 'lookup'; draftModelDir: string | null };
}

export interface LiveSnapshot {
  at: number;
  tokensPerSecond: number;
  running: number;
  waiting: number;
  loaded: LoadedVersionView[];
  /** Per served version, last-minute latency figures (ms) from the request stream. */
  latency: Record<
    string,
    {
      ttftP50: number;
      ttftP95: number;
      tpotP50: number;
      tpotP95: number;
      requests: number;
      errors: number;
    }
  >;
}

export interface StatusResponse {
  version: string;
  uptimeSeconds: number;
  apiBaseUrl: string;
  device: string;
  auth: boolean;
  home: string;
  live: LiveSnapshot;
}

export type VersionState = 'importing' | 'ready' | 'failed' | 'deleted';

export interface VersionSummary {
  model: string;
  version: string;
  state: VersionState;
  source: string;
  digest: string;
  sizeBytes: number;
  architecture: string;
  numParams: number | null;
  contextLength: number;
  memoryEstimateBytes: number;
  createdAt: string;
  loaded: boolean;
}

export interface ModelSummary {
  name: string;
  createdAt: string;
  versions: VersionSummary[];
}

export interface ImportRequest {
  path: string;
  name?: string;
  version?: string;
}

export interface PullRequest {
  /** org/repo */
  repo: string;
  revision?: string;
  filePattern?: string;
  name?: string;
  version?: string;
}

export interface JobSummary {
  id: string;
  kind: 'pull' | 'import' | 'deploy';
  state: 'running' | 'done' | 'failed';
  /** 0..1 */
  progress: number;
  bytesDone: number;
  bytesTotal: number;
  message: string;
  error?: string;
  result?: VersionSummary;
  /**
   * Goes up with every change to the job. SSE events and GET answers travel on different
   * connections and can arrive out of order: of two snapshots, the one with the higher revision
   * is the newer.
   */
  revision: number;
}

export type CandidateMode = 'canary' | 'shadow';

export interface RolloutPolicy {
  /** Roll back when the candidate's error rate exceeds this (0..1). */
  maxErrorRate: number;
  /** Roll back when candidate p95 TTFT > stable p95 TTFT × this. */
  maxTtftRatio: number;
  /** Decisions wait for this many candidate requests. */
  minRequests: number;
  /** Promote automatically after this many healthy candidate requests; 0 = never. */
  autoPromoteAfter: number;
}

export interface DeploymentSummary {
  name: string;
  model: string;
  stable: string;
  candidate: { version: string; weight: number; mode: CandidateMode } | null;
  policy: RolloutPolicy;
  speculative: 'off' | 'draft' | 'lookup' | 'default';
  updatedAt: string;
}

/** A shadow candidate's figures since it started mirroring (GET /api/deployments/:name/shadow). */
export interface ShadowLive {
  version: string;
  /** ISO time the candidate started. */
  since: string;
  /** Requests mirrored to the candidate and finished there. */
  mirrored: number;
  errors: number;
  /** Greedy single-choice requests whose tokens were compared with stable's. */
  compared: number;
  /** Mean token agreement with stable over the compared requests (0..1); null before any. */
  agreement: number | null;
  /** Requests not mirrored because the candidate was already running its cap of mirrors. */
  skipped: number;
  /** The candidate's time to first token, p95 over its mirrors (ms); null before any. */
  ttftP95: number | null;
}

export interface RolloutEvent {
  id: number;
  deployment: string;
  at: string;
  kind:
    | 'created'
    | 'deploy'
    | 'canary'
    | 'weight'
    | 'promote'
    | 'rollback'
    | 'auto-rollback'
    | 'auto-promote'
    | 'shadow'
    | 'policy'
    | 'speculative';
  fromVersion: string | null;
  toVersion: string | null;
  detail: string;
}

export interface MetricsBucket {
  /** ISO minute start. */
  minute: string;
  model: string;
  version: string;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  ttftP50: number;
  ttftP95: number;
  e2eP50: number;
  e2eP95: number;
  /** 'hour' for buckets older than 7 days, compacted from minutes. */
  resolution?: 'minute' | 'hour';
  /** Present when the version ran as a shadow: mirrored requests and token agreement (0..1) with stable. */
  shadow?: { requests: number; errors: number; compared: number; agreement: number };
}

export interface LogLine {
  /** The service's running line number: lines written in one millisecond stay apart. */
  seq: number;
  time: number;
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  msg: string;
  [key: string]: unknown;
}

export interface SettingView {
  name: string;
  env: string;
  flag: string;
  value: unknown;
  source: 'flag' | 'env' | 'file' | 'default';
  description: string;
  choices?: readonly string[];
}
