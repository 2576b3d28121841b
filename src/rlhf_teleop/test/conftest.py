# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Fixtures for tests with real nodes: a listener node in its own context, and node processes from NodeSpecs."""

import os
from pathlib import Path
import subprocess
import time

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor

from rlhf_teleop.graph import executable_path, ros_arguments, stop_processes, write_params_file


class RosProbe:
    """A test node in its own rclpy context, with helpers to spin it."""

    def __init__(self):
        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=int(os.environ.get('ROS_DOMAIN_ID', '0')))
        self.node = rclpy.create_node('test_probe', context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def spin_until(self, predicate, timeout=20.0):
        """Spin until ``predicate()`` holds or ``timeout`` s pass; return its last value."""
        deadline = time.monotonic() + timeout
        while not predicate() and time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.02)
        return predicate()

    def spin_for(self, seconds, every=None):
        """Spin ``seconds``, calling ``every()`` about every 33 ms (e.g. to publish a device at 30 Hz)."""
        deadline = time.monotonic() + seconds
        next_call = time.monotonic()
        while time.monotonic() < deadline:
            if every is not None and time.monotonic() >= next_call:
                every()
                next_call += 1.0 / 30.0
            self.executor.spin_once(timeout_sec=0.01)

    def close(self):
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


@pytest.fixture
def ros():
    probe = RosProbe()
    yield probe
    probe.close()


class NodeProcesses:
    """Start NodeSpecs as processes (as run_graph does), output to log files; stop them all at teardown."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.processes = {}

    def start(self, spec):
        params = write_params_file(spec, str(self.directory))
        log = open(self.directory / f'{spec.name}.log', 'w')
        command = [str(executable_path(spec))] + ros_arguments(spec, params)
        self.processes[spec.name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                                     start_new_session=True)
        log.close()
        return self.processes[spec.name]

    def log(self, name) -> str:
        return (self.directory / f'{name}.log').read_text()

    def logs(self) -> str:
        return '\n'.join(f'--- {name} ---\n{self.log(name)[-3000:]}' for name in self.processes)

    def stop(self):
        return stop_processes(self.processes, sigint_timeout_s=10.0, sigterm_timeout_s=3.0)


@pytest.fixture
def nodes(tmp_path):
    processes = NodeProcesses(tmp_path)
    yield processes
    processes.stop()
