# shellcheck shell=bash
# Environment of the workspace. Source it: `source scripts/env.sh`.
# With a sourced ROS 2 install (/opt/ros/<distro>) it adds the workspace on top of it;
# otherwise it activates the embedded default (.venv with the ROS 2 Jazzy wheels).

RLHF_WS="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export RLHF_WS
RLHF_VENV="${RLHF_VENV:-$RLHF_WS/.venv}"
export RLHF_VENV

if [ -d "$RLHF_VENV" ]; then
  # shellcheck disable=SC1091
  source "$RLHF_VENV/bin/activate"
fi

if [ -z "${ROS_DISTRO:-}" ] && [ -d "$RLHF_VENV" ]; then
  export RLHF_ROS_MODE=embedded
  case ":${AMENT_PREFIX_PATH:-}:" in *":$RLHF_VENV:"*) ;; *) export AMENT_PREFIX_PATH="$RLHF_VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}";; esac
  case ":${CMAKE_PREFIX_PATH:-}:" in *":$RLHF_VENV:"*) ;; *) export CMAKE_PREFIX_PATH="$RLHF_VENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}";; esac
  # What ros_wheels_bootstrapper would compute, set once here so that every Python
  # process starts directly instead of re-executing itself to set LD_LIBRARY_PATH.
  _rlhf_site="$(echo "$RLHF_VENV"/lib/python3.*/site-packages)"
  _rlhf_libs="$RLHF_VENV/lib"
  for _d in "$_rlhf_site"/ros_*.libs; do [ -d "$_d" ] && _rlhf_libs="$_rlhf_libs:$_d"; done
  export LD_LIBRARY_PATH="$_rlhf_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export _ROS_WHEELS_BOOTSTRAP_COMPLETE=1
  export ROS_DISTRO=jazzy ROS_VERSION=2 ROS_PYTHON_VERSION=3
  unset _rlhf_site _rlhf_libs _d
else
  export RLHF_ROS_MODE=system
fi

export RMW_IMPLEMENTATION="${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
export MUJOCO_GL="${MUJOCO_GL:-egl}"
export PYOPENGL_PLATFORM="${PYOPENGL_PLATFORM:-$MUJOCO_GL}"
export PYTHONUNBUFFERED=1
# Spinning OpenMP threads (torch) starve each other and every other process on a busy machine (rlhf_training).
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

if [ -f "$RLHF_WS/install/local_setup.bash" ]; then
  # colcon's setup scripts read unset variables: relax `set -u` while sourcing them.
  case $- in *u*) _rlhf_u=1; set +u;; *) _rlhf_u=0;; esac
  # shellcheck disable=SC1091
  source "$RLHF_WS/install/local_setup.bash"
  [ "$_rlhf_u" = 1 ] && set -u
  unset _rlhf_u
  # No `ros2 run` on the embedded default: put the packages' console scripts on PATH instead.
  for _d in "$RLHF_WS"/install/*/lib/rlhf_*; do
    case ":$PATH:" in *":$_d:"*) ;; *) [ -d "$_d" ] && PATH="$_d:$PATH";; esac
  done
  export PATH
  unset _d
fi
