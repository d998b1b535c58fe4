-- A digest of what the verdict reads of one variant's results (per-item gated quality figures,
-- completion lengths, timings), so `qbench report`, `gate` and `compare` do not re-read every
-- metric row of a large run. Derived data: `stamp` names the results it was made from, and a
-- digest whose stamp no longer matches is made again from the rows.
CREATE TABLE variant_facts (
  variant_id INTEGER PRIMARY KEY REFERENCES variants (id) ON DELETE CASCADE,
  stamp      TEXT NOT NULL,  -- schema and reader version, a hash of the reader's queries, then COUNT, MAX and SUM of the variant's result ids
  digest     BLOB NOT NULL   -- u32 header length, JSON header, float64 columns (see src/store/facts-digest.ts)
);

-- qbench writes a result with its metrics and token scores in one transaction, which the stamp
-- sees; an update or delete of those rows (a hand edit, a repair script) drops the variant's
-- digest. (Insert triggers on metrics would double the cost of writing and merging large runs.)
CREATE TRIGGER variant_facts_result_update AFTER UPDATE ON results BEGIN
  DELETE FROM variant_facts WHERE variant_id IN (OLD.variant_id, NEW.variant_id);
END;
CREATE TRIGGER variant_facts_result_delete AFTER DELETE ON results BEGIN
  DELETE FROM variant_facts WHERE variant_id = OLD.variant_id;
END;
CREATE TRIGGER variant_facts_metric_update AFTER UPDATE ON metrics BEGIN
  DELETE FROM variant_facts
  WHERE variant_id IN (SELECT variant_id FROM results WHERE id IN (OLD.result_id, NEW.result_id));
END;
CREATE TRIGGER variant_facts_metric_delete AFTER DELETE ON metrics BEGIN
  DELETE FROM variant_facts WHERE variant_id = (SELECT variant_id FROM results WHERE id = OLD.result_id);
END;
CREATE TRIGGER variant_facts_tokens_update AFTER UPDATE ON token_scores BEGIN
  DELETE FROM variant_facts
  WHERE variant_id IN (SELECT variant_id FROM results WHERE id IN (OLD.result_id, NEW.result_id));
END;
CREATE TRIGGER variant_facts_tokens_delete AFTER DELETE ON token_scores BEGIN
  DELETE FROM variant_facts WHERE variant_id = (SELECT variant_id FROM results WHERE id = OLD.result_id);
END;
