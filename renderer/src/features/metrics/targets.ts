/** Which versions a metrics view compares: a deployment's stable and candidate, or all loaded. */
import type { DeploymentSummary, LiveSnapshot } from '../../api/types.js';

export interface Target {
  servedName: string;
  model: string;
  version: string;
  role: string;
  color: string;
}

const PALETTE = ['var(--stable)', 'var(--candidate)', '#e08a2e', '#3b82f6', '#e0524a', '#14b8a6'];

export function deploymentTargets(d: DeploymentSummary): Target[] {
  const out: Target[] = [
    {
      servedName: `${d.model}@${d.stable}`,
      model: d.model,
      version: d.stable,
      role: 'stable',
      color: 'var(--stable)',
    },
  ];
  if (d.candidate) {
    out.push({
      servedName: `${d.model}@${d.candidate.version}`,
      model: d.model,
      version: d.candidate.version,
      role: d.candidate.mode === 'shadow' ? 'shadow' : 'candidate',
      color: 'var(--candidate)',
    });
  }
  return out;
}

export function loadedTargets(snapshot: LiveSnapshot | null): Target[] {
  return (snapshot?.loaded ?? []).map((l, i) => ({
    servedName: l.servedName,
    model: l.model,
    version: l.version,
    role: 'loaded',
    color: PALETTE[i % PALETTE.length],
  }));
}
