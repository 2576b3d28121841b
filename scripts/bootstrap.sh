#!/usr/bin/env bash
# Create the environment and build the workspace. Idempotent: a second run only checks.
#
#   scripts/bootstrap.sh            # environment + colcon build
#   scripts/bootstrap.sh --no-build # environment only
#
# With a sourced ROS 2 install (ROS_DISTRO set, /opt/ros/<distro>) it installs only the
# Python dependencies on top of it; otherwise it sets up the embedded default: ROS 2 Jazzy
# from PyPI wheels in .venv, pinned by requirements/embedded.lock.
set -euo pipefail
WS="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${RLHF_VENV:-$WS/.venv}"
BUILD=1
[ "${1:-}" = "--no-build" ] && BUILD=0

say() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*"; }
die() { printf '\033[31m[bootstrap] error:\033[0m %s\n' "$*" >&2; exit 1; }

stamp_of() { sha256sum "$1" | cut -c1-16; }

if [ -n "${ROS_DISTRO:-}" ] && [ -d "/opt/ros/${ROS_DISTRO}" ]; then
  MODE=system
  LOCK="$WS/requirements/python.txt"
else
  MODE=embedded
  LOCK="$WS/requirements/embedded.lock"
  PY="${PYTHON:-python3}"
  command -v "$PY" >/dev/null || die "python3 not found; the embedded default needs Python 3.11"
  ver="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  [ "$ver" = "3.11" ] || die "the embedded default needs Python 3.11 (the ROS 2 Jazzy wheels are cp311), found $ver at $(command -v "$PY"); set PYTHON=/path/to/python3.11 or use a ROS 2 install"
fi
say "mode: $MODE ($([ "$MODE" = system ] && echo "ROS 2 $ROS_DISTRO from /opt/ros" || echo "ROS 2 Jazzy wheels in ${VENV#"$WS"/}"))"

# 1. Virtual environment with pinned dependencies, reinstalled only when the lock changes.
want="$(stamp_of "$LOCK")"
if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtual environment ${VENV#"$WS"/}"
  if [ "$MODE" = system ]; then python3 -m venv --system-site-packages "$VENV"; else "$PY" -m venv "$VENV"; fi
fi
if [ "$(cat "$VENV/.rlhf-lock" 2>/dev/null)" != "$want" ]; then
  # pyaudio (robopianist's dependency) builds against PortAudio's headers; the piano's sound needs FluidSynth
  "$WS/scripts/install_sound.sh" || die "the piano's Debian packages are missing (see above)"
  say "installing $(grep -c "==" "$LOCK") pinned packages from ${LOCK#"$WS"/} (first run: a few minutes)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip==24.3.1 setuptools==75.8.0 wheel >/dev/null 2>&1 \
    || die "could not upgrade pip in $VENV; is the package index reachable?"
  # (this machine's pip config names local indexes that may not exist; drop those warnings)
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$LOCK" \
    2> >(grep -v "^WARNING: Location .* is ignored" >&2) \
    || die "pip could not install ${LOCK#"$WS"/} (see the pip error above)"
  echo "$want" > "$VENV/.rlhf-lock"
else
  say "python packages up to date"
fi

# shellcheck disable=SC1091
source "$WS/scripts/env.sh"

# 2. The wheel fixes (embedded default only), then a check that names anything still missing.
if [ "$MODE" = embedded ]; then
  python "$WS/scripts/wheel_fixes.py" apply "$VENV" | sed 's/^/[bootstrap] /'
  python "$WS/scripts/wheel_fixes.py" check "$VENV" \
    || die "the ROS 2 wheels cannot build message packages yet (see above)"
fi

# 3. colcon build, skipped when nothing under src/ (nor the environment) changed since the last one.
if [ "$BUILD" = 1 ]; then
  cd "$WS"
  marker=install/.rlhf-built
  # (caches that running the tests writes under src/ do not count)
  changed=never-built
  if [ -f "$marker" ]; then
    changed="$(find src "$VENV/.rlhf-lock" -type f -newer "$marker" -not -path '*/__pycache__*' \
               -not -path '*/.pytest_cache*' -not -path '*/.ruff_cache*' -not -path '*/*.egg-info*' -print -quit)"
  fi
  if [ -z "$changed" ]; then
    say "workspace up to date (colcon build skipped)"
  else
    say "colcon build"
    colcon build --symlink-install --event-handlers console_cohesion- summary+ \
      --cmake-args -DBUILD_TESTING=ON -DPython3_EXECUTABLE="$(command -v python)" \
      || die "colcon build failed (see the package output above; log/latest_build has the details)"
    touch "$marker"
  fi
fi
say "ready: source scripts/env.sh to use the workspace"
