#!/usr/bin/env bash
# engine-tools.sh OUT [BUILD_BIN]: llama.cpp's reference tools (llama-perplexity, llama-tokenize,
# llama-quantize, llama-imatrix) running on the libraries of node-llama-cpp's prebuilt CPU
# binary, the engine qbench drives, so that a reference carries the very kernels the tests run.
#
# MAINTAINERS ONLY, for the make-reference scripts (CI never runs it). BUILD_BIN (default
# /tmp/llama-src/build/bin) is a Release build of node-llama-cpp's gitRelease.bundle (the same
# commit as the prebuilt); only its tool programs and their *-impl.so are taken from it. OUT gets
# those, a copy of the prebuilt's libraries (libllama, libggml, libggml-base, libllama-common and
# every libggml-cpu-<variant>.so: ggml loads the best variant for the CPU from the program's own
# folder, as node-llama-cpp does), the links that give the prebuilt's libraries the names the
# tools were linked against, and a wrapper per tool that puts OUT first on LD_LIBRARY_PATH.
#
# Why: on an AMX CPU the prebuilt loads libggml-cpu-sapphirerapids.so, whose AMX matmuls round
# differently from AVX-512 without AMX (test/support/cpu-reference.ts), and a local build of the
# same variant's flags (GGML_NATIVE=OFF, AVX512 VBMI VNNI BF16 AMX_TILE AMX_INT8, with or without
# OpenMP), like a GGML_NATIVE=ON one, died with SIGILL at its first AMX tilezero on a 2-core
# Sapphire Rapids VM (2026-12-03, gcc 12.2), where the prebuilt runs.
#
#   scripts/engine-tools.sh /tmp/engine-tools
#   TOOLS=/tmp/engine-tools test/fixtures/ppl/make-reference.sh
#
# (scripts/build-llama-perplexity-prebuilt.sh links llama-perplexity alone the same way without a
# cmake build, for bench/native-scorer.ts.)
set -euo pipefail

OUT="${1:?usage: engine-tools.sh OUT [BUILD_BIN]}"
BUILD_BIN="${2:-/tmp/llama-src/build/bin}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREBUILT="$REPO/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"
[ -f "$PREBUILT/libllama.v0.5.0.so" ] || { echo "error: no prebuilt libllama in $PREBUILT (run npm ci)" >&2; exit 1; }

mkdir -p "$OUT"
cp "$PREBUILT"/*.so "$OUT"/
ln -sf libllama.v0.5.0.so "$OUT/libllama.so.0"
ln -sf libggml.v0.5.0.so "$OUT/libggml.so.0"
ln -sf libggml-base.so "$OUT/libggml-base.so.0"
ln -sf libllama-common.so "$OUT/libllama-common.so.0"
for tool in llama-perplexity llama-tokenize llama-quantize llama-imatrix; do
  [ -x "$BUILD_BIN/$tool" ] || { echo "error: $BUILD_BIN/$tool is not built" >&2; exit 1; }
  cp "$BUILD_BIN/$tool" "$OUT/$tool.bin"
  printf '#!/bin/sh\nLD_LIBRARY_PATH="%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "%s/%s.bin" "$@"\n' \
    "$OUT" "$OUT" "$tool" > "$OUT/$tool"
  chmod +x "$OUT/$tool"
done
cp "$BUILD_BIN"/libllama-*-impl.so "$OUT"/
# Every library the tools load must be the prebuilt's (or the tools' own impl), none from BUILD_BIN.
if LD_LIBRARY_PATH="$OUT" ldd "$OUT"/*.bin | grep -F "$BUILD_BIN"; then
  echo "error: a tool still loads a library from $BUILD_BIN" >&2
  exit 1
fi
echo "tools in $OUT on node-llama-cpp's prebuilt engine ($PREBUILT)"
