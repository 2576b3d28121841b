#!/usr/bin/env bash
# The README's main job: bootstrap, then the whole loop headless in the simulator
# (scripts/pipeline.py --help lists the stages and options).
set -euo pipefail
WS="$(cd "$(dirname "$0")/.." && pwd)"
"$WS/scripts/bootstrap.sh"
# shellcheck disable=SC1091
source "$WS/scripts/env.sh"
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-$(( RANDOM % 100 + 100 ))}"
if [ "$ROS_DISTRO" = humble ]; then export ROS_LOCALHOST_ONLY=1; else export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST; fi
exec python "$WS/scripts/pipeline.py" "$@"
