#!/usr/bin/env bash
# Source ROS 2 Humble and the workspace, then run the command.
set -e
# shellcheck disable=SC1091
source /opt/ros/humble/setup.bash
# shellcheck disable=SC1091
source /ws/scripts/env.sh
exec "$@"
