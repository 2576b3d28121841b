# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Episode recorder (one rosbag2 MCAP per episode), episode catalog and offline reader."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version('rlhf_recorder')
except PackageNotFoundError:  # running from a source tree that was never built
    __version__ = '0.0.0+source'
