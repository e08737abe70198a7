/**
 * Deployments and the append-only rollout event log. Every change to a deployment writes its
 * event in the same transaction, so the log can never disagree with the state it explains.
 */
import type {
  CandidateMode,
  DeploymentSummary,
  RolloutEvent,
  RolloutPolicy,
} from '../shared/admin-api.js';
import { ConflictError, NotFoundError } from '../shared/errors.js';
import type { RegistryDb } from './db.js';
import { DEFAULT_POLICY, type DeploymentRecord } from './records.js';

interface DeploymentRow {
  id: number;
  name: string;
  model_id: number;
  model: string;
  stable_version_id: number;
  stable: string;
  candidate_version_id: number | null;
  candidate: string | null;
  candidate_weight: number;
  candidate_mode: CandidateMode | null;
  candidate_since: string | null;
  policy: string;
  speculative: DeploymentSummary['speculative'];
  created_at: string;
  updated_at: string;
}

const SELECT_DEPLOYMENT = `
  SELECT d.*, m.name AS model, s.version AS stable, c.version AS candidate
  FROM deployments d
  JOIN models m ON m.id = d.model_id
  JOIN versions s ON s.id = d.stable_version_id
  LEFT JOIN versions c ON c.id = d.candidate_version_id`;

function toRecord(r: DeploymentRow): DeploymentRecord {
  return {
    id: r.id,
    name: r.name,
    modelId: r.model_id,
    model: r.model,
    stableVersionId: r.stable_version_id,
    stable: r.stable,
    candidate:
      r.candidate_version_id !== null && r.candidate_mode !== null
        ? {
            versionId: r.candidate_version_id,
            version: r.candidate!,
            weight: r.candidate_weight,
            mode: r.candidate_mode,
            since: r.candidate_since ?? r.updated_at,
          }
        : null,
    policy: { ...DEFAULT_POLICY, ...(JSON.parse(r.policy) as Partial<RolloutPolicy>) },
    speculative: r.speculative,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export type EventInput = Omit<RolloutEvent, 'id' | 'at' | 'deployment'>;

export class DeploymentsRepo {
  constructor(private readonly db: RegistryDb) {}

  list(): DeploymentRecord[] {
    return (this.db.prepare(`${SELECT_DEPLOYMENT} ORDER BY d.name`).all() as DeploymentRow[]).map(
      toRecord,
    );
  }

  find(name: string): DeploymentRecord | null {
    const row = this.db.prepare(`${SELECT_DEPLOYMENT} WHERE d.name = ?`).get(name) as
      DeploymentRow | undefined;
    return row ? toRecord(row) : null;
  }

  get(name: string): DeploymentRecord {
    const d = this.find(name);
    if (!d) {
      const known = this.list().map((x) => x.name);
      throw new NotFoundError(
        `The deployment '${name}' does not exist${known.length ? ` (deployments: ${known.join(', ')})` : ''}.`,
        'name',
        'deployment_not_found',
      );
    }
    return d;
  }

  /**
   * Inside a change's transaction: a deployment may only point at a ready version of its own
   * model (a version deleted meanwhile has no files left to serve).
   */
  private requireReady(versionId: number, modelId: number): void {
    const row = this.db
      .prepare(
        `SELECT v.state, v.version, v.model_id, m.name AS model FROM versions v
         JOIN models m ON m.id = v.model_id WHERE v.id = ?`,
      )
      .get(versionId) as
      { state: string; version: string; model_id: number; model: string } | undefined;
    if (!row) throw new NotFoundError(`Version #${versionId} does not exist.`, 'version');
    if (row.model_id !== modelId) {
      throw new ConflictError(
        `${row.model}@${row.version} belongs to another model than the deployment.`,
        'version',
      );
    }
    if (row.state !== 'ready') {
      throw new ConflictError(
        `${row.model}@${row.version} is ${row.state}, not ready; a deployment can only serve a ready version.`,
        'version',
      );
    }
  }

  /** Deployments whose stable or candidate is this version. */
  usingVersion(versionId: number): DeploymentRecord[] {
    return this.list().filter(
      (d) => d.stableVersionId === versionId || d.candidate?.versionId === versionId,
    );
  }

  create(
    input: { name: string; modelId: number; stableVersionId: number; policy?: RolloutPolicy },
    event: EventInput,
    now = new Date(),
  ): { deployment: DeploymentRecord; event: RolloutEvent } {
    const at = now.toISOString();
    const ev = this.db.transaction(() => {
      if (this.find(input.name))
        throw new ConflictError(`The deployment '${input.name}' already exists.`, 'name');
      this.requireReady(input.stableVersionId, input.modelId);
      this.db
        .prepare(
          `INSERT INTO deployments (name, model_id, stable_version_id, policy, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?)`,
        )
        .run(
          input.name,
          input.modelId,
          input.stableVersionId,
          JSON.stringify(input.policy ?? DEFAULT_POLICY),
          at,
          at,
        );
      return this.appendEvent(input.name, event, now);
    })();
    return { deployment: this.get(input.name), event: ev };
  }

  /**
   * Applies one change and its event atomically. `expect` guards against lost updates: the
   * change only happens if the deployment still has the stable/candidate the caller decided on.
   */
  update(
    name: string,
    change: {
      stableVersionId?: number;
      candidate?: { versionId: number; weight: number; mode: CandidateMode } | null;
      weight?: number;
      policy?: RolloutPolicy;
      speculative?: DeploymentSummary['speculative'];
    },
    event: EventInput,
    expect?: { stableVersionId?: number; candidateVersionId?: number | null },
    now = new Date(),
  ): { deployment: DeploymentRecord; event: RolloutEvent } {
    const at = now.toISOString();
    const ev = this.db.transaction(() => {
      const d = this.get(name);
      if (expect?.stableVersionId !== undefined && d.stableVersionId !== expect.stableVersionId) {
        throw new ConflictError(
          `The deployment '${name}' changed meanwhile (stable is now ${d.stable}).`,
          'name',
        );
      }
      if (
        expect?.candidateVersionId !== undefined &&
        (d.candidate?.versionId ?? null) !== expect.candidateVersionId
      ) {
        throw new ConflictError(
          `The deployment '${name}' changed meanwhile (its candidate is different now).`,
          'name',
        );
      }
      if (change.stableVersionId !== undefined)
        this.requireReady(change.stableVersionId, d.modelId);
      if (change.candidate) this.requireReady(change.candidate.versionId, d.modelId);
      const sets: string[] = ['updated_at = @at'];
      const params: Record<string, unknown> = { at, name };
      if (change.stableVersionId !== undefined) {
        sets.push('stable_version_id = @stable');
        params.stable = change.stableVersionId;
      }
      if (change.candidate === null) {
        sets.push(
          'candidate_version_id = NULL, candidate_mode = NULL, candidate_weight = 0, candidate_since = NULL',
        );
      } else if (change.candidate) {
        sets.push(
          'candidate_version_id = @cand, candidate_mode = @mode, candidate_weight = @weight, candidate_since = @at',
        );
        Object.assign(params, {
          cand: change.candidate.versionId,
          mode: change.candidate.mode,
          weight: change.candidate.weight,
        });
      }
      if (change.weight !== undefined) {
        sets.push('candidate_weight = @w');
        params.w = change.weight;
      }
      if (change.policy) {
        sets.push('policy = @policy');
        params.policy = JSON.stringify(change.policy);
      }
      if (change.speculative) {
        sets.push('speculative = @spec');
        params.spec = change.speculative;
      }
      this.db.prepare(`UPDATE deployments SET ${sets.join(', ')} WHERE name = @name`).run(params);
      return this.appendEvent(name, event, now);
    })();
    return { deployment: this.get(name), event: ev };
  }

  appendEvent(deployment: string, e: EventInput, now = new Date()): RolloutEvent {
    const at = now.toISOString();
    const res = this.db
      .prepare(
        'INSERT INTO rollout_events (deployment, at, kind, from_version, to_version, detail) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(deployment, at, e.kind, e.fromVersion, e.toVersion, e.detail);
    return { id: Number(res.lastInsertRowid), deployment, at, ...e };
  }

  events(deployment: string, limit = 200): RolloutEvent[] {
    const rows = this.db
      .prepare(
        `SELECT id, deployment, at, kind, from_version, to_version, detail FROM rollout_events
         WHERE deployment = ? ORDER BY id DESC LIMIT ?`,
      )
      .all(deployment, limit) as Array<{
      id: number;
      deployment: string;
      at: string;
      kind: RolloutEvent['kind'];
      from_version: string | null;
      to_version: string | null;
      detail: string;
    }>;
    return rows.reverse().map((r) => ({
      id: r.id,
      deployment: r.deployment,
      at: r.at,
      kind: r.kind,
      fromVersion: r.from_version,
      toVersion: r.to_version,
      detail: r.detail,
    }));
  }
}
