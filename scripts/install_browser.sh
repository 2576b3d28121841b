#!/usr/bin/env bash
# Debian's Chromium for the annotation page's browser test (Playwright drives /usr/bin/chromium;
# its own browser download cannot work offline). Installed once; no-op when present.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "[browser] /usr/bin/chromium is missing and this user cannot apt-get it: the browser test will be skipped" >&2
  exit 0
fi
echo "[browser] installing Debian chromium (one time)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends chromium >/dev/null \
  || { echo "[browser] error: apt-get could not install chromium" >&2; exit 1; }
