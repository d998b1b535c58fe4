-- The context the engine allocated (llama.cpp rounds up; a server has its own), beside the
-- plan's context_size, which is the one enforced.
ALTER TABLE variants ADD COLUMN engine_context_size INTEGER;
