-- Load sweeps (`qbench sweep`): one sweep_runs row per sweep against one server, one
-- sweep_levels row per concurrency or request-rate level, for a throughput/latency curve per
-- variant. Times in ms unless named _s; percentiles are null where a level had no data.
CREATE TABLE sweep_runs (
  id             INTEGER PRIMARY KEY,
  run_id         INTEGER REFERENCES runs (id),  -- the qbench run it belongs to; null when standalone
  variant        TEXT NOT NULL,                 -- the variant's name, or --label
  server_url     TEXT NOT NULL,
  model          TEXT NOT NULL,                 -- the model name sent to the server
  endpoint       TEXT NOT NULL CHECK (endpoint IN ('completions', 'chat')),
  max_tokens     INTEGER NOT NULL,
  temperature    REAL NOT NULL,
  prompts        INTEGER NOT NULL,              -- distinct prompts, used in turn
  requests_per_level INTEGER NOT NULL,
  max_seconds_per_level REAL NOT NULL,
  ttft_budget_ms REAL,                          -- goodput budgets; null when not given
  itl_budget_ms  REAL,
  seed           INTEGER NOT NULL,
  started_at     TEXT NOT NULL,
  finished_at    TEXT
);
CREATE INDEX sweep_runs_by_variant ON sweep_runs (variant, id);

CREATE TABLE sweep_levels (
  sweep_id           INTEGER NOT NULL REFERENCES sweep_runs (id) ON DELETE CASCADE,
  ordinal            INTEGER NOT NULL,          -- order the levels ran in
  concurrency        INTEGER,                   -- fixed-concurrency level, or the cap of a rate level
  request_rate       REAL,                      -- offered req/s of a rate level (Poisson arrivals)
  requests           INTEGER NOT NULL,          -- sent
  completed          INTEGER NOT NULL,
  failed             INTEGER NOT NULL,
  duration_s         REAL NOT NULL,             -- level start to last answer
  request_throughput REAL NOT NULL,             -- completed / duration_s
  output_throughput  REAL NOT NULL,             -- output tokens / duration_s
  ttft_mean_ms REAL, ttft_p50_ms REAL, ttft_p90_ms REAL, ttft_p99_ms REAL,
  itl_mean_ms  REAL, itl_p50_ms  REAL, itl_p90_ms  REAL, itl_p99_ms  REAL,
  tpot_mean_ms REAL, tpot_p50_ms REAL, tpot_p90_ms REAL, tpot_p99_ms REAL,
  e2e_mean_ms  REAL, e2e_p50_ms  REAL, e2e_p90_ms  REAL, e2e_p99_ms  REAL,
  good_share         REAL,                      -- share of sent requests within every budget
  goodput            REAL,                      -- good requests / duration_s
  errors             TEXT,                      -- first distinct failure messages, newline-separated
  PRIMARY KEY (sweep_id, ordinal)
) WITHOUT ROWID;
