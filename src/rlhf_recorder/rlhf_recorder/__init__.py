# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Episode recorder (one rosbag2 MCAP per episode), episode catalog and offline reader."""
