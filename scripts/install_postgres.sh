#!/usr/bin/env bash
# Debian's PostgreSQL server for the label store's PostgreSQL tests and `bench/annotation_load.py --backend
# postgresql` (they start a throwaway server of their own with initdb + pg_ctl; nothing runs as a service).
# Installed once; a no-op when present. When it cannot be installed, it says why and the PostgreSQL tests
# then fail with that message (they do not skip).
set -euo pipefail
if compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "[postgres] PostgreSQL (Debian package postgresql) is missing and this user cannot apt-get it:" \
       "the PostgreSQL tests of rlhf_preference will fail; install it with: apt-get install postgresql" >&2
  exit 0
fi
echo "[postgres] installing Debian postgresql (one time)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends postgresql >/dev/null \
  || { echo "[postgres] error: apt-get could not install postgresql" >&2; exit 1; }
