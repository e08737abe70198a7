/**
 * Numbered schema migrations for registry.db. Append only: a released migration never changes,
 * because users' databases already ran it. `PRAGMA user_version` records the last one applied.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'models, versions, deployments, rollout events, metrics',
    sql: `
      CREATE TABLE models (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
      );

      -- A version is immutable once ready; the files it names never change under it.
      -- storage 'store': path is relative to ORCHARD_HOME (models/<digest>);
      -- storage 'shipped': path is the folder name inside the app's resources/models, because
      -- the app's install path changes between runs (AppImage mounts, updates).
      CREATE TABLE versions (
        id             INTEGER PRIMARY KEY,
        model_id       INTEGER NOT NULL REFERENCES models(id) ON DELETE RESTRICT,
        version        TEXT NOT NULL,
        state          TEXT NOT NULL CHECK (state IN ('importing', 'ready', 'failed', 'deleted')),
        source         TEXT NOT NULL,
        storage        TEXT NOT NULL CHECK (storage IN ('store', 'shipped')),
        path           TEXT NOT NULL,
        digest         TEXT NOT NULL,
        size_bytes     INTEGER NOT NULL,
        weights_bytes  INTEGER NOT NULL,
        architecture   TEXT NOT NULL,
        num_params     INTEGER,
        context_length INTEGER NOT NULL,
        onnx_file      TEXT NOT NULL,
        fingerprint    TEXT,
        error          TEXT,
        created_at     TEXT NOT NULL,
        UNIQUE (model_id, version)
      );
      CREATE INDEX versions_digest ON versions(digest);

      CREATE TABLE version_files (
        version_id INTEGER NOT NULL REFERENCES versions(id) ON DELETE CASCADE,
        path       TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        sha256     TEXT NOT NULL,
        PRIMARY KEY (version_id, path)
      ) WITHOUT ROWID;

      CREATE TABLE deployments (
        id                   INTEGER PRIMARY KEY,
        name                 TEXT NOT NULL UNIQUE,
        model_id             INTEGER NOT NULL REFERENCES models(id) ON DELETE RESTRICT,
        stable_version_id    INTEGER NOT NULL REFERENCES versions(id) ON DELETE RESTRICT,
        candidate_version_id INTEGER REFERENCES versions(id) ON DELETE RESTRICT,
        candidate_weight     REAL NOT NULL DEFAULT 0
                             CHECK (candidate_weight >= 0 AND candidate_weight <= 100),
        candidate_mode       TEXT CHECK (candidate_mode IN ('canary', 'shadow')),
        candidate_since      TEXT,
        policy               TEXT NOT NULL,
        speculative          TEXT NOT NULL DEFAULT 'default'
                             CHECK (speculative IN ('off', 'draft', 'lookup', 'default')),
        created_at           TEXT NOT NULL,
        updated_at           TEXT NOT NULL,
        CHECK ((candidate_version_id IS NULL) = (candidate_mode IS NULL)),
        CHECK (candidate_version_id IS NULL OR candidate_version_id <> stable_version_id)
      );

      CREATE TABLE rollout_events (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        deployment   TEXT NOT NULL,
        at           TEXT NOT NULL,
        kind         TEXT NOT NULL,
        from_version TEXT,
        to_version   TEXT,
        detail       TEXT NOT NULL
      );
      CREATE INDEX rollout_events_deployment ON rollout_events(deployment, id);
      -- The log is evidence of what happened: it is never rewritten.
      CREATE TRIGGER rollout_events_no_update BEFORE UPDATE ON rollout_events
        BEGIN SELECT RAISE(ABORT, 'rollout_events is append-only'); END;
      CREATE TRIGGER rollout_events_no_delete BEFORE DELETE ON rollout_events
        BEGIN SELECT RAISE(ABORT, 'rollout_events is append-only'); END;

      -- One row per version and period: minute buckets for the last 7 days, hour buckets beyond.
      -- Percentiles of a compacted hour are request-weighted means of its minutes' percentiles
      -- (an approximation: exact percentiles would need every sample).
      CREATE TABLE metrics_buckets (
        version_id          INTEGER NOT NULL REFERENCES versions(id) ON DELETE CASCADE,
        resolution          TEXT NOT NULL CHECK (resolution IN ('minute', 'hour')),
        start_ms            INTEGER NOT NULL,
        requests            INTEGER NOT NULL DEFAULT 0,
        errors              INTEGER NOT NULL DEFAULT 0,
        prompt_tokens       INTEGER NOT NULL DEFAULT 0,
        completion_tokens   INTEGER NOT NULL DEFAULT 0,
        ttft_p50            REAL NOT NULL DEFAULT 0,
        ttft_p95            REAL NOT NULL DEFAULT 0,
        e2e_p50             REAL NOT NULL DEFAULT 0,
        e2e_p95             REAL NOT NULL DEFAULT 0,
        shadow_requests     INTEGER NOT NULL DEFAULT 0,
        shadow_errors       INTEGER NOT NULL DEFAULT 0,
        shadow_compared     INTEGER NOT NULL DEFAULT 0,
        shadow_agreement    REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (version_id, resolution, start_ms)
      ) WITHOUT ROWID;
      CREATE INDEX metrics_buckets_time ON metrics_buckets(resolution, start_ms);
    `,
  },
];
