-- Suites a variant's engine cannot measure (e.g. perplexity over an HTTP server without prompt
-- log-probs): recorded with the reason, so the report says "not measured" instead of "failed".
CREATE TABLE variant_skips (
  variant_id INTEGER NOT NULL REFERENCES variants (id),
  suite_id   TEXT NOT NULL,
  reason     TEXT NOT NULL,
  PRIMARY KEY (variant_id, suite_id)
);
-- The tail of a managed server's log (qbench started and stopped it for this variant).
ALTER TABLE variants ADD COLUMN server_log TEXT;
