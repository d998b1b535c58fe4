#!/usr/bin/env bash
# The WebGPU runner's software adapter on machines without a GPU: Dawn's OpenGL ES backend on
# Mesa's llvmpipe, reached through EGL's surfaceless platform. Dawn dlopens the unversioned
# libEGL.so (libegl-dev); libegl-mesa0 is Mesa's EGL vendor library, libgl1-mesa-dri its
# llvmpipe driver. Idempotent: installs only what is missing.
set -euo pipefail
packages=(libegl-dev libegl-mesa0 libgl1-mesa-dri)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
