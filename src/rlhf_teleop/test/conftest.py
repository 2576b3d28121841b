# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Fixtures for tests with real nodes: a listener node in its own context, and node processes from NodeSpecs."""

import pytest

from rlhf_common.testing import NodeProcesses, RosProbe


@pytest.fixture
def ros():
    probe = RosProbe()
    yield probe
    probe.close()


@pytest.fixture
def nodes(tmp_path):
    processes = NodeProcesses(tmp_path)
    yield processes
    processes.stop()
