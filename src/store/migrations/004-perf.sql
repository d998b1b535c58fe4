-- Fixed-shape runs (the plan's perf section), comparable one to one with llama-bench -p/-n/-d.
CREATE TABLE perf_results (
  id              INTEGER PRIMARY KEY,
  variant_id      INTEGER NOT NULL REFERENCES variants (id),
  prompt_tokens   INTEGER NOT NULL,
  generate_tokens INTEGER NOT NULL,
  depth           INTEGER NOT NULL,
  repeat          INTEGER NOT NULL,
  prefill_ms      REAL NOT NULL,
  decode_ms       REAL NOT NULL,
  generated       INTEGER NOT NULL,
  ipc_ms          REAL NOT NULL,
  created_at      TEXT NOT NULL,
  UNIQUE (variant_id, prompt_tokens, generate_tokens, depth, repeat)
);

-- Warm-up generations run before measuring (not stored as results, but counted).
ALTER TABLE variants ADD COLUMN warmup_runs INTEGER NOT NULL DEFAULT 0;
-- The three memory figures, never mixed (NULL = not measured; memory_notes says why):
-- device peak from nvidia-smi sampled at >= 10 Hz minus the idle level before load,
ALTER TABLE variants ADD COLUMN device_peak_bytes INTEGER;
ALTER TABLE variants ADD COLUMN device_idle_bytes INTEGER;
-- the runner process's own GPU memory (nvidia-smi --query-compute-apps),
ALTER TABLE variants ADD COLUMN process_device_peak_bytes INTEGER;
-- (the engine's own figure is engine_device_bytes; peak RSS is peak_rss_bytes, VmHWM)
ALTER TABLE variants ADD COLUMN memory_samples INTEGER;
ALTER TABLE variants ADD COLUMN memory_notes TEXT;
