#!/usr/bin/env bash
# The robot pianist's loop: bootstrap, then SAC pretraining -> performances with sound -> ratings ->
# preferences -> CPL -> evaluation and report (scripts/piano_loop.py --help lists the stages and options).
set -euo pipefail
WS="$(cd "$(dirname "$0")/.." && pwd)"
"$WS/scripts/bootstrap.sh"
# shellcheck disable=SC1091
source "$WS/scripts/env.sh"
export MUJOCO_GL="${MUJOCO_GL:-egl}"
exec nice -n "${PIANO_NICE:-5}" python "$WS/scripts/piano_loop.py" "$@"
