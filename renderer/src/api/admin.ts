/** Typed calls for every admin route (shapes from src/shared/admin-api.ts). */
import type {
  DeploymentSummary,
  ImportRequest,
  JobSummary,
  LoadedVersionDetail,
  LogLine,
  MetricsBucket,
  ModelSummary,
  PullRequest,
  RolloutEvent,
  RolloutPolicy,
  SettingView,
  ShadowLive,
  StatusResponse,
  VersionSummary,
  CandidateMode,
} from './types.js';
import { requestJson } from './http.js';

const enc = encodeURIComponent;
const versionPath = (model: string, version: string) =>
  `/api/models/${enc(model)}/versions/${enc(version)}`;
const deploymentPath = (name: string) => `/api/deployments/${enc(name)}`;

export const admin = {
  status: (signal?: AbortSignal) =>
    requestJson<StatusResponse>('GET', '/api/status', undefined, signal),
  apiKey: () => requestJson<{ apiKey: string }>('GET', '/api/key'),

  models: (signal?: AbortSignal) =>
    requestJson<ModelSummary[]>('GET', '/api/models', undefined, signal),
  importModel: (body: ImportRequest) =>
    requestJson<VersionSummary>('POST', '/api/models/import', body),
  pull: (body: PullRequest) => requestJson<JobSummary>('POST', '/api/models/pull', body),
  job: (id: string) => requestJson<JobSummary>('GET', `/api/jobs/${enc(id)}`),
  jobs: (signal?: AbortSignal) => requestJson<JobSummary[]>('GET', '/api/jobs', undefined, signal),
  loadedDetails: (signal?: AbortSignal) =>
    requestJson<LoadedVersionDetail[]>('GET', '/api/ps', undefined, signal),
  load: (model: string, version: string) =>
    requestJson<VersionSummary>('POST', `${versionPath(model, version)}/load`),
  unload: (model: string, version: string) =>
    requestJson<VersionSummary>('POST', `${versionPath(model, version)}/unload`),
  deleteVersion: (model: string, version: string) =>
    requestJson<{ deleted: true }>('DELETE', versionPath(model, version)),

  deployments: (signal?: AbortSignal) =>
    requestJson<DeploymentSummary[]>('GET', '/api/deployments', undefined, signal),
  deploymentShadow: (name: string, signal?: AbortSignal) =>
    requestJson<{ shadow: ShadowLive | null }>(
      'GET',
      `${deploymentPath(name)}/shadow`,
      undefined,
      signal,
    ),
  createDeployment: (body: { name: string; model: string; version: string }) =>
    requestJson<DeploymentSummary>('POST', '/api/deployments', body),
  deploy: (name: string, version: string) =>
    requestJson<DeploymentSummary>('POST', `${deploymentPath(name)}/deploy`, { version }),
  startCandidate: (name: string, body: { version: string; weight: number; mode: CandidateMode }) =>
    requestJson<DeploymentSummary>('POST', `${deploymentPath(name)}/canary`, body),
  setWeight: (name: string, weight: number) =>
    requestJson<DeploymentSummary>('PATCH', `${deploymentPath(name)}/canary`, { weight }),
  promote: (name: string) =>
    requestJson<DeploymentSummary>('POST', `${deploymentPath(name)}/promote`),
  rollback: (name: string, reason?: string) =>
    requestJson<DeploymentSummary>(
      'POST',
      `${deploymentPath(name)}/rollback`,
      reason ? { reason } : {},
    ),
  setPolicy: (name: string, policy: RolloutPolicy) =>
    requestJson<DeploymentSummary>('PUT', `${deploymentPath(name)}/policy`, policy),
  setSpeculative: (name: string, mode: DeploymentSummary['speculative']) =>
    requestJson<DeploymentSummary>('PUT', `${deploymentPath(name)}/speculative`, { mode }),
  deploymentEvents: (name: string, signal?: AbortSignal) =>
    requestJson<RolloutEvent[]>('GET', `${deploymentPath(name)}/events`, undefined, signal),

  metricsHistory: (q: { model: string; version: string; minutes: number }, signal?: AbortSignal) =>
    requestJson<MetricsBucket[]>(
      'GET',
      `/api/metrics/history?model=${enc(q.model)}&version=${enc(q.version)}&minutes=${q.minutes}`,
      undefined,
      signal,
    ),
  logs: (q: { level?: string; limit?: number }, signal?: AbortSignal) => {
    const params = new URLSearchParams();
    if (q.level) params.set('level', q.level);
    if (q.limit) params.set('limit', String(q.limit));
    return requestJson<LogLine[]>('GET', `/api/logs?${params.toString()}`, undefined, signal);
  },
  settings: (signal?: AbortSignal) =>
    requestJson<SettingView[]>('GET', '/api/settings', undefined, signal),
};

/** GET /v1/models: the ids clients can pass as `model`. */
export async function openaiModels(signal?: AbortSignal): Promise<string[]> {
  const body = await requestJson<{ data?: Array<{ id?: unknown }> }>(
    'GET',
    '/v1/models',
    undefined,
    signal,
  );
  return (body.data ?? []).map((m) => m.id).filter((id): id is string => typeof id === 'string');
}
