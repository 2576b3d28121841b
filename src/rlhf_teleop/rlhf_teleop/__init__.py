# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Teleoperation devices, scripted experts, episode control and the collection graph."""
