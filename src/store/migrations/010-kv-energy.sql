-- A variant's KV cache types (null: the engine's default, f16), the engine's own figures for its
-- weight, KV and compute buffers, and the energy of its measured generations with its source.
ALTER TABLE variants ADD COLUMN kv_cache_k TEXT;
ALTER TABLE variants ADD COLUMN kv_cache_v TEXT;
ALTER TABLE variants ADD COLUMN engine_model_bytes INTEGER;
ALTER TABLE variants ADD COLUMN engine_kv_bytes INTEGER;
ALTER TABLE variants ADD COLUMN engine_compute_bytes INTEGER;
ALTER TABLE variants ADD COLUMN energy_joules REAL;
ALTER TABLE variants ADD COLUMN energy_seconds REAL;
ALTER TABLE variants ADD COLUMN energy_tokens INTEGER;
ALTER TABLE variants ADD COLUMN energy_source TEXT;
-- The device's total memory as the engine reports it: the default budget for capacity.
ALTER TABLE variants ADD COLUMN engine_device_total_bytes INTEGER;
