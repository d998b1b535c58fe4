-- A person's judgement of one variant's output on one item, from `qbench view`. `output` is the
-- text that was judged (the first ok repeat's), so a later run whose output on the same item is
-- the same text, under the same prompt and reference, carries the review over. Never updated:
-- a new judgement is a new row, and the newest row per (run, variant, suite, item) counts.
CREATE TABLE reviews (
  id          INTEGER PRIMARY KEY,
  run_id      INTEGER NOT NULL REFERENCES runs (id),
  variant_id  INTEGER NOT NULL REFERENCES variants (id),
  variant     TEXT NOT NULL,
  suite_id    TEXT NOT NULL,
  item_id     TEXT NOT NULL,
  output      TEXT,
  prompt      TEXT NOT NULL,
  reference   TEXT,
  verdict     TEXT NOT NULL CHECK (verdict IN ('acceptable', 'not-acceptable', 'unsure')),
  note        TEXT NOT NULL DEFAULT '',
  reviewer    TEXT NOT NULL,
  created_at  TEXT NOT NULL
);
CREATE INDEX reviews_by_run ON reviews (run_id, variant_id, suite_id, item_id, id);
CREATE INDEX reviews_by_item ON reviews (suite_id, item_id, variant, id);
