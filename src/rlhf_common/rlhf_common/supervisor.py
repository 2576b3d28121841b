# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Start a graph's nodes as processes, as ``ros2 launch`` does, where ``ros2 launch`` does not exist.

``run_graph(specs)``: one process per ``NodeSpec``, with the ``--ros-args`` that ``ros2 launch`` passes; output
prefixed with the node name; the graph stops when its ``ends_graph`` node exits, when any node fails, or on
Ctrl-C / SIGTERM. Stopping is SIGINT first (nodes close cleanly: the recorder closes its bag), then SIGTERM and
SIGKILL after timeouts.
"""

from pathlib import Path
import signal
import subprocess
import sys
import tempfile
import threading
import time

import yaml

from rlhf_common.graph import check_executables, graph_end


def ros_arguments(spec, params_file=None):
    """The ``--ros-args`` that ``ros2 launch`` passes to a node process."""
    args = ['--ros-args', '-r', f'__node:={spec.name}']
    for path in spec.parameter_files:
        args += ['--params-file', str(path)]
    if params_file:
        args += ['--params-file', params_file]
    for source, target in spec.remappings:
        args += ['-r', f'{source}:={target}']
    return args


def write_params_file(spec, directory):
    """Write ``spec.parameters`` as a ROS parameter file (as launch_ros does for a dict); None when empty."""
    if not spec.parameters:
        return None
    path = Path(directory) / f'{spec.name}_params.yaml'
    path.write_text(yaml.safe_dump({'/**': {'ros__parameters': spec.parameters}}, sort_keys=False))
    return str(path)


def node_command(spec, directory):
    """The command line of one node process (parameters written to a file in ``directory``)."""
    return [str(check_executables([spec])[0])] + ros_arguments(spec, write_params_file(spec, directory))


def _pump(name, stream, lock, width):
    """Copy one process's output to ours, each line prefixed with the node name."""
    for line in iter(stream.readline, ''):
        with lock:
            sys.stdout.write(f'[{name:<{width}}] {line}' if line.endswith('\n') else f'[{name:<{width}}] {line}\n')
            sys.stdout.flush()
    stream.close()


class _Stop(Exception):
    """SIGTERM to the supervisor: stop the graph like Ctrl-C."""


def run_graph(specs, sigint_timeout_s=15.0, sigterm_timeout_s=5.0, env=None):
    """Start one process per spec; stop them all when the ``ends_graph`` node exits, a node fails, or on Ctrl-C.

    SIGTERM to the supervisor stops the graph like Ctrl-C. Returns {node name: exit code}; a missing executable
    raises FileNotFoundError before anything starts.
    """
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f'node names must be unique, got {names}')
    until = graph_end(specs)
    check_executables(specs)   # fail before starting anything
    lock = threading.Lock()
    width = max(len(n) for n in names)
    processes, pumps = {}, []

    def on_sigterm(signum, frame):
        raise _Stop

    in_main = threading.current_thread() is threading.main_thread()   # signals can be set only there
    previous = signal.signal(signal.SIGTERM, on_sigterm) if in_main else None
    with tempfile.TemporaryDirectory(prefix='rlhf_graph_') as tmp:
        try:
            for spec in specs:
                # Own process group: a terminal's Ctrl-C reaches only us, and we stop the nodes in order.
                proc = subprocess.Popen(node_command(spec, tmp), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, bufsize=1, env=env, start_new_session=True)
                processes[spec.name] = proc
                pump = threading.Thread(target=_pump, args=(spec.name, proc.stdout, lock, width), daemon=True)
                pump.start()
                pumps.append(pump)
            while True:
                finished = {n: p.poll() for n, p in processes.items() if p.poll() is not None}
                if until in finished or any(code != 0 for code in finished.values()) or \
                        len(finished) == len(processes):
                    for name, code in finished.items():
                        if code != 0 and name != until:
                            with lock:
                                print(f'[graph] node {name} exited with code {code}; stopping the graph', flush=True)
                    break
                time.sleep(0.1)
        except (KeyboardInterrupt, _Stop) as stop:
            with lock:
                print(f'[graph] {"SIGTERM" if isinstance(stop, _Stop) else "Ctrl-C"}: stopping the nodes', flush=True)
        finally:
            # A second Ctrl-C must not interrupt the shutdown of the nodes (their bags would stay open).
            if in_main:
                old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
            try:
                codes = stop_processes(processes, sigint_timeout_s, sigterm_timeout_s)
                for pump in pumps:
                    pump.join(timeout=2.0)
            finally:
                if in_main:
                    signal.signal(signal.SIGINT, old_int)
                    signal.signal(signal.SIGTERM, previous)
    return codes


def stop_processes(processes, sigint_timeout_s, sigterm_timeout_s):
    """SIGINT every running process, then SIGTERM, then SIGKILL; return the exit codes."""
    for sig, timeout in ((signal.SIGINT, sigint_timeout_s), (signal.SIGTERM, sigterm_timeout_s),
                         (signal.SIGKILL, 5.0)):
        running = [p for p in processes.values() if p.poll() is None]
        if not running:
            break
        for proc in running:
            try:
                proc.send_signal(sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(p.poll() is None for p in running):
            time.sleep(0.05)
    return {name: p.wait() for name, p in processes.items()}
