#!/usr/bin/env bash
# Builds llama-perplexity and llama-bench against node-llama-cpp's prebuilt CPU libraries (the engine qbench's
# runner uses, with its per-CPU kernel variants), so bench/native-scorer.ts can compare qbench with
# llama-perplexity on the same engine build. From the repository root:
#   bash scripts/build-llama-perplexity-prebuilt.sh /tmp/lp-prebuilt
# then: node dist/bench/native-scorer.js --tools /tmp/lp-prebuilt
set -euo pipefail
out=${1:-/tmp/lp-prebuilt}
bins=$(pwd)/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
git -c advice.detachedHead=false clone -q node_modules/node-llama-cpp/llama/gitRelease.bundle "$src"
mkdir -p "$out"
g++ -O2 -std=c++17 -I "$src/include" -I "$src/ggml/include" -I "$src/common" -I "$src/vendor" \
  -I "$src/tools/perplexity" "$src/tools/perplexity/main.cpp" "$src/tools/perplexity/perplexity.cpp" \
  -o "$out/llama-perplexity" -L "$bins" -l:libllama-common.so -l:libllama.v0.5.0.so \
  -l:libggml.v0.5.0.so -l:libggml-base.so -Wl,-rpath,"$bins" -pthread
# llama-bench too, for bench/overhead.ts and bench/real-shape.ts's prefill / decode columns.
g++ -O2 -std=c++17 -I "$src/include" -I "$src/ggml/include" -I "$src/common" -I "$src/vendor" \
  -I "$src/tools/llama-bench" "$src/tools/llama-bench/main.cpp" "$src/tools/llama-bench/llama-bench.cpp" \
  -o "$out/llama-bench" -L "$bins" -l:libllama-common.so -l:libllama.v0.5.0.so \
  -l:libggml.v0.5.0.so -l:libggml-base.so -Wl,-rpath,"$bins" -pthread
# The prebuilt ggml loads its CPU variant from the executable's folder.
for variant in "$bins"/libggml-cpu-*.so; do ln -sf "$variant" "$out/"; done
echo "built $out/llama-perplexity and $out/llama-bench on $bins"
