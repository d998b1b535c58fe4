-- A run may be one shard (index of count, 0-based) of a plan; qbench merge joins them.
ALTER TABLE runs ADD COLUMN shard_index INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN shard_count INTEGER NOT NULL DEFAULT 1;
-- Shards of one run merged into this run, as JSON [{file, index, count, run}], or NULL.
ALTER TABLE runs ADD COLUMN merged_from TEXT;
