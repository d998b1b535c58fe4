#!/bin/sh
# Makes test/fixtures/tokenizer/ (see its README): llama.cpp's own tokenizer test pairs
# (models/ggml-vocab-*.gguf.inp/.out) copied from the llama.cpp sources node-llama-cpp bundles,
# and llama-tokenize's ids for multilingual.txt with each of those vocabularies.
# Needs that checkout with llama-tokenize built:
#   git clone node_modules/node-llama-cpp/llama/gitRelease.bundle /tmp/llama-src
#   cd /tmp/llama-src && cmake -B build && cmake --build build --target llama-tokenize
# Run: LLAMA_SRC=/tmp/llama-src sh scripts/make-tokenizer-fixtures.sh
set -eu
SRC=${LLAMA_SRC:-/tmp/llama-src}
OUT=$(cd "$(dirname "$0")/../test/fixtures/tokenizer" && pwd)
for v in llama-bpe llama-spm qwen2 phi-3 gemma-4; do
  cp "$SRC/models/ggml-vocab-$v.gguf.inp" "$SRC/models/ggml-vocab-$v.gguf.out" "$OUT/"
  # Verbatim bytes (-f, --no-escape), no BOS, special-token text as plain text: what the
  # runners' tokenize gives before they add BOS.
  "$SRC/build/bin/llama-tokenize" -m "$SRC/models/ggml-vocab-$v.gguf" -f "$OUT/multilingual.txt" \
    --no-escape --ids --no-bos --no-parse-special --log-disable > "$OUT/multilingual.$v.ids"
done
echo "llama.cpp $(git -C "$SRC" rev-parse HEAD), llama-tokenize built from it" > "$OUT/SOURCE"
