-- Per-token figures of perplexity items, packed little-endian: what KLD and the paired
-- perplexity statistics are computed from, without full-vocabulary logit dumps.
CREATE TABLE token_scores (
  result_id     INTEGER PRIMARY KEY REFERENCES results (id) ON DELETE CASCADE,
  tokens_hash   TEXT NOT NULL,  -- sha256 of the evaluated token ids: variants must match the baseline
  logprobs      BLOB NOT NULL,  -- float32 per scored token: ln P(actual token)
  topk_counts   BLOB,           -- baseline only: uint16 entries kept per position
  topk_ids      BLOB,           -- baseline only: int32 ids, most likely first
  topk_logprobs BLOB,           -- baseline only: float32 log-probs of those ids
  kld           BLOB,           -- compared variants: float32 KL(P_base ‖ P_variant) per token
  same_top      BLOB            -- compared variants: uint8, 1 where both models' top token agree
);
