#!/usr/bin/env bash
# Copies the llama.cpp headers the native scorer compiles against from the llama.cpp sources
# that node-llama-cpp bundles (its gitRelease.bundle), and records their commit.
# Run from the repository root after a node-llama-cpp upgrade: bash scripts/copy-llama-headers.sh
set -euo pipefail
bundle=node_modules/node-llama-cpp/llama/gitRelease.bundle
out=native/include
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -c advice.detachedHead=false clone -q "$bundle" "$tmp/llama.cpp"
commit=$(git -C "$tmp/llama.cpp" rev-parse HEAD)
version=$(node -p 'require("./node_modules/node-llama-cpp/package.json").version')
rm -rf "$out"
mkdir -p "$out"
cp "$tmp/llama.cpp/include/llama.h" "$out/"
for header in ggml.h ggml-cpu.h ggml-backend.h ggml-opt.h gguf.h ggml-alloc.h; do
  cp "$tmp/llama.cpp/ggml/include/$header" "$out/"
done
cp "$tmp/llama.cpp/LICENSE" "$out/LICENSE-llama.cpp"
cat > "$out/SOURCE.md" <<NOTE
# llama.cpp headers

Copied by \`scripts/copy-llama-headers.sh\` from the llama.cpp sources bundled in node-llama-cpp
$version (\`node_modules/node-llama-cpp/llama/gitRelease.bundle\`), commit \`$commit\`.
llama.cpp is MIT-licensed (copyright the ggml authors); its licence is in \`LICENSE-llama.cpp\`. The native scorer is built only against this node-llama-cpp version
(\`native/build.mjs\`), since it reads that version's \`AddonModel\` / \`AddonContext\` layout.
NOTE
echo "copied $(ls "$out" | wc -l) files from llama.cpp $commit (node-llama-cpp $version) to $out"
