#!/usr/bin/env bash
# The report's browser tests drive a real headless Chromium (Debian's `chromium`, which also
# brings the Liberation fonts the PNG charts are drawn with). Idempotent: installs only if missing.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && dpkg -s chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-liberation
command -v chromium
