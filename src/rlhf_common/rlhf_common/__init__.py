# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""What every package shares: the robot interface, node parameters and main, and the graph launcher."""
