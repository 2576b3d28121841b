# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Helpers for tests with real nodes over DDS: a probe node in its own context, node processes from NodeSpecs.

The probe joins the domain of ``ROS_DOMAIN_ID`` (the test command gives every run its own) and spins in the test's
thread; node processes are started exactly as ``rlhf_common.supervisor.run_graph`` starts them, with their output
in log files, and stopped the way Ctrl-C stops a graph (SIGINT, then SIGTERM, then SIGKILL).
"""

import os
from pathlib import Path
import subprocess
import time

from rlhf_common.supervisor import node_command, stop_processes


class RosProbe:
    """A test node in its own rclpy context, with helpers to spin it."""

    def __init__(self):
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=int(os.environ.get('ROS_DOMAIN_ID', '0')))
        self.node = rclpy.create_node('test_probe', context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def spin_until(self, predicate, timeout=20.0, every=None):
        """Spin until ``predicate()`` holds or ``timeout`` s pass; return its last value.

        ``every()``, when given, is called about every 33 ms meanwhile (a device streaming at 30 Hz). Wait for what
        a test needs to see, with a generous timeout, rather than for a fixed time: that holds on a loaded machine.
        """
        deadline = time.monotonic() + timeout
        next_call = time.monotonic()
        while not predicate() and time.monotonic() < deadline:
            if every is not None and time.monotonic() >= next_call:
                every()
                next_call += 1.0 / 30.0
            self.executor.spin_once(timeout_sec=0.01 if every is not None else 0.02)
        return predicate()

    def call(self, client, request, timeout=30.0):
        """Call a service with a request that may be repeated (``rlhf_common.node.call_service``); None: no answer."""
        from rlhf_common.node import call_service
        return call_service(client, request, lambda: self.executor.spin_once(timeout_sec=0.02), timeout)

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
        import rclpy
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


class NodeProcesses:
    """Start NodeSpecs as processes (as run_graph does), output to log files; stop them all at teardown."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.processes = {}

    def start(self, spec):
        log = open(self.directory / f'{spec.name}.log', 'w')
        self.processes[spec.name] = subprocess.Popen(node_command(spec, str(self.directory)), stdout=log,
                                                     stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        return self.processes[spec.name]

    def log(self, name) -> str:
        return (self.directory / f'{name}.log').read_text()

    def logs(self) -> str:
        return '\n'.join(f'--- {name} ---\n{self.log(name)[-3000:]}' for name in self.processes)

    def stop(self):
        return stop_processes(self.processes, sigint_timeout_s=10.0, sigterm_timeout_s=3.0)


class LaunchAction:
    """Stand-in of a launch action: keeps its arguments."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class LaunchConfigurationStandIn:
    def __init__(self, name):
        self.name = name

    def perform(self, context):
        return context[self.name]


def launch_stand_ins():
    """Minimal stand-ins of the ``launch`` / ``launch_ros`` modules (not installable without ROS), by module name.

    Enough to execute a launch file that uses ``rlhf_common.graph.launch_description``: every action records its
    arguments, ``LaunchDescription`` returns the list of actions.
    """
    import types
    return {
        'launch': types.SimpleNamespace(LaunchDescription=lambda actions: actions),
        'launch.actions': types.SimpleNamespace(DeclareLaunchArgument=LaunchAction, OpaqueFunction=LaunchAction,
                                                RegisterEventHandler=LaunchAction, EmitEvent=LaunchAction),
        'launch.event_handlers': types.SimpleNamespace(OnProcessExit=LaunchAction),
        'launch.events': types.SimpleNamespace(Shutdown=LaunchAction),
        'launch.launch_description': types.SimpleNamespace(LaunchDescription=lambda actions: actions),
        'launch.substitutions': types.SimpleNamespace(LaunchConfiguration=LaunchConfigurationStandIn),
        'launch_ros.actions': types.SimpleNamespace(Node=LaunchAction),
    }


def load_launch_file(path, monkeypatch):
    """Execute a launch file's ``generate_launch_description()`` against ``launch_stand_ins`` (pytest monkeypatch)."""
    import importlib.util
    import sys
    for name, module in launch_stand_ins().items():
        monkeypatch.setitem(sys.modules, name, module)
    spec = importlib.util.spec_from_file_location(Path(path).stem.replace('.', '_'), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_launch_description()
