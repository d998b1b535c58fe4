-- One row per `qbench run`; a resumed run keeps its row.
CREATE TABLE runs (
  id             INTEGER PRIMARY KEY,
  plan_name      TEXT NOT NULL,
  plan_file      TEXT NOT NULL,
  plan_hash      TEXT NOT NULL,
  plan_json      TEXT NOT NULL,
  status         TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed')),
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
  git_dirty      INTEGER
);
CREATE INDEX runs_by_plan ON runs (plan_hash, id);

CREATE TABLE variants (
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
                    CHECK (status IN ('pending', 'running', 'complete', 'failed')),
  error             TEXT,
  stderr_tail       TEXT,
  peak_rss_bytes    INTEGER,
  engine_device_bytes INTEGER,
  UNIQUE (run_id, name)
);

CREATE TABLE suites (
  run_id      INTEGER NOT NULL REFERENCES runs (id),
  suite_id    TEXT NOT NULL,
  file        TEXT NOT NULL,
  description TEXT NOT NULL,
  hash        TEXT NOT NULL,
  metrics     TEXT NOT NULL,  -- JSON, the suite's metric options as written
  PRIMARY KEY (run_id, suite_id)
);

CREATE TABLE items (
  run_id    INTEGER NOT NULL,
  suite_id  TEXT NOT NULL,
  item_id   TEXT NOT NULL,
  ordinal   INTEGER NOT NULL,
  prompt    TEXT NOT NULL,
  reference TEXT,
  PRIMARY KEY (run_id, suite_id, item_id),
  FOREIGN KEY (run_id, suite_id) REFERENCES suites (run_id, suite_id)
);

-- One row per (variant, item, repeat): written once, in its own transaction with its metrics.
CREATE TABLE results (
  id                INTEGER PRIMARY KEY,
  variant_id        INTEGER NOT NULL REFERENCES variants (id),
  suite_id          TEXT NOT NULL,
  item_id           TEXT NOT NULL,
  repeat            INTEGER NOT NULL,
  status            TEXT NOT NULL CHECK (status IN ('ok', 'error')),
  output            TEXT,
  error             TEXT,
  error_kind        TEXT,
  stderr_tail       TEXT,
  prompt_tokens     INTEGER,
  completion_tokens INTEGER,
  ttft_ms           REAL,
  tokenize_ms       REAL,
  decode_ms         REAL,
  total_ms          REAL,
  ipc_ms            REAL,
  finish_reason     TEXT,
  created_at        TEXT NOT NULL,
  UNIQUE (variant_id, suite_id, item_id, repeat)
);

CREATE TABLE metrics (
  result_id INTEGER NOT NULL REFERENCES results (id) ON DELETE CASCADE,
  name      TEXT NOT NULL,
  value     REAL NOT NULL,
  PRIMARY KEY (result_id, name)
) WITHOUT ROWID;
