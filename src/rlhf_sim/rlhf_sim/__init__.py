# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""MuJoCo Franka Panda simulation: Gymnasium environment and ros2_control-like node."""

import os

# Offscreen rendering must work without a display (robots, CI, SSH): default to EGL unless the user chose a
# backend. MuJoCo reads this when it is first imported, which happens after this package is.
os.environ.setdefault('MUJOCO_GL', 'egl')
os.environ.setdefault('PYOPENGL_PLATFORM', os.environ['MUJOCO_GL'])
