-- Why a variant ran at its thread count: `plan sets 2`, the size rule, or what `threads: auto`
-- measured ("measured: 1 thread 178 tok/s vs 2 threads 61 tok/s, cached 2026-12-02").
ALTER TABLE variants ADD COLUMN threads_reason TEXT;
