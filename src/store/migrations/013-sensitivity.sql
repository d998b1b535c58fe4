-- Sensitivity passes (`qbench sensitivity`, `qbench mix`): one sensitivity_runs row per command,
-- one sensitivity_groups row per group × type measured. KLD is KL(source ‖ variant) per scored
-- token of the calibration text: exact, or a lower bound from the source's stored top-K
-- (kld_is_bound, with the source's mass its entries cover).
CREATE TABLE sensitivity_runs (
  id              INTEGER PRIMARY KEY,
  command         TEXT NOT NULL CHECK (command IN ('sensitivity', 'mix')),
  model           TEXT NOT NULL,                 -- the source model's path
  model_sha256    TEXT NOT NULL,
  model_bytes     INTEGER NOT NULL,
  text            TEXT NOT NULL,                 -- the calibration text's path
  text_sha256     TEXT NOT NULL,
  grouping        TEXT NOT NULL CHECK (grouping IN ('layer', 'tensor', 'role')),
  mode            TEXT NOT NULL CHECK (mode IN ('only', 'except')),
  ctx             INTEGER NOT NULL,
  chunks          INTEGER NOT NULL,              -- chunks scored
  scored_tokens   INTEGER NOT NULL,
  kld_method      TEXT NOT NULL CHECK (kld_method IN ('exact', 'top-k')),
  kld_is_bound    INTEGER NOT NULL,
  top_k           INTEGER,                       -- null for exact KLD
  baseline_mass_covered REAL,                    -- mean source mass of the kept top-K; null with --kld exact
  baseline_ppl    REAL NOT NULL,
  imatrix         TEXT,                          -- the imatrix file's path, if any
  backend         TEXT NOT NULL,
  host            TEXT NOT NULL,
  started_at      TEXT NOT NULL,
  seconds         REAL NOT NULL,
  baseline_seconds REAL NOT NULL                 -- the source's one pass
);

CREATE TABLE sensitivity_groups (
  sensitivity_id  INTEGER NOT NULL REFERENCES sensitivity_runs (id) ON DELETE CASCADE,
  type            TEXT NOT NULL,                 -- ggml type asked for (Q4_K, …); fall-backs apply per tensor
  group_name      TEXT NOT NULL,                 -- blk.3, attn_v, blk.3.attn_v.weight, token_embd.weight
  layer           INTEGER,                       -- null when the group spans layers or lies outside them
  role            TEXT,                          -- null when a layer group mixes roles
  tensors         INTEGER NOT NULL,
  quantized_weights INTEGER NOT NULL,            -- weights quantized in this variant
  mean_kld        REAL NOT NULL,
  mean_kld_error  REAL NOT NULL,                 -- standard error of the mean
  p99_kld         REAL NOT NULL,
  same_top_pct    REAL NOT NULL,
  ppl             REAL NOT NULL,
  ppl_ratio       REAL NOT NULL,
  ppl_ratio_error REAL NOT NULL,
  quantize_seconds REAL NOT NULL,
  pass_seconds    REAL NOT NULL,
  reused          INTEGER NOT NULL,              -- 1: another type wrote the same file; its figures
  rank            INTEGER NOT NULL,              -- 1 = most sensitive at this type
  PRIMARY KEY (sensitivity_id, type, group_name)
);
