-- A run stopped by a signal or a full disk is `interrupted` (so is each variant it was running):
-- `qbench run --resume` finishes it. SQLite cannot alter a CHECK, so both tables are rebuilt
-- (foreign keys are off while migrations run; see src/store/database.ts). `writer` (pid@host) is
-- the process writing a running run, so a second `--resume` of it is refused while that one lives.
CREATE TABLE runs_008 (
  id             INTEGER PRIMARY KEY,
  plan_name      TEXT NOT NULL,
  plan_file      TEXT NOT NULL,
  plan_hash      TEXT NOT NULL,
  plan_json      TEXT NOT NULL,
  status         TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed', 'interrupted')),
  started_at     TEXT NOT NULL,
  finished_at    TEXT,
  resumed_count  INTEGER NOT NULL DEFAULT 0,
  qbench_version TEXT NOT NULL,
  node_version   TEXT NOT NULL,
  host           TEXT NOT NULL,
  platform       TEXT NOT NULL,
  cpu            TEXT NOT NULL,
  cpu_cores      INTEGER NOT NULL,
  memory_bytes   INTEGER NOT NULL,
  gpu            TEXT,
  gpu_driver     TEXT,
  git_commit     TEXT,
  git_dirty      INTEGER,
  shard_index    INTEGER NOT NULL DEFAULT 0,
  shard_count    INTEGER NOT NULL DEFAULT 1,
  merged_from    TEXT,
  writer         TEXT
);
INSERT INTO runs_008 SELECT *, NULL FROM runs;
DROP TABLE runs;
ALTER TABLE runs_008 RENAME TO runs;
CREATE INDEX runs_by_plan ON runs (plan_hash, id);

CREATE TABLE variants_008 (
  id                INTEGER PRIMARY KEY,
  run_id            INTEGER NOT NULL REFERENCES runs (id),
  name              TEXT NOT NULL,
  precision         TEXT NOT NULL,
  is_baseline       INTEGER NOT NULL,
  model_path        TEXT NOT NULL,
  model_sha256      TEXT NOT NULL,
  model_bytes       INTEGER NOT NULL,
  architecture      TEXT,
  parameter_count   INTEGER,
  bits_per_weight   REAL,
  tensor_types      TEXT NOT NULL,  -- JSON {type: {count, bytes}}: a display histogram, not a metric
  backend_requested TEXT NOT NULL,
  backend           TEXT,
  device            TEXT,
  runner            TEXT NOT NULL,
  runner_version    TEXT,
  engine            TEXT,
  threads           INTEGER NOT NULL,
  context_size      INTEGER NOT NULL,
  load_ms           REAL,
  status            TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'running', 'complete', 'failed', 'interrupted')),
  error             TEXT,
  stderr_tail       TEXT,
  peak_rss_bytes    INTEGER,
  engine_device_bytes INTEGER,
  warmup_runs       INTEGER NOT NULL DEFAULT 0,
  device_peak_bytes INTEGER,
  device_idle_bytes INTEGER,
  process_device_peak_bytes INTEGER,
  memory_samples    INTEGER,
  memory_notes      TEXT,
  server_log        TEXT,
  UNIQUE (run_id, name)
);
INSERT INTO variants_008 SELECT * FROM variants;
DROP TABLE variants;
ALTER TABLE variants_008 RENAME TO variants;
