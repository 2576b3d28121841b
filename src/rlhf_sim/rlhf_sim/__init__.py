# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""MuJoCo Franka Panda simulation: Gymnasium environment and ros2_control-like node."""
