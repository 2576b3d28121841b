# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Graph descriptions and the process supervisor: arguments, --ros-args, ends_graph, Ctrl-C during shutdown."""

import os
from pathlib import Path
import signal
import subprocess
import sys
import textwrap

import pytest
import yaml

from rlhf_common.graph import GraphArgument, NodeSpec, check_executables, graph_end, resolve_arguments
from rlhf_common.supervisor import ros_arguments, stop_processes, write_params_file

ARGS = (GraphArgument('on', 'true', 'a flag', kind='bool'),
        GraphArgument('count', '2', 'a count', kind='int', minimum=0),
        GraphArgument('gain', '0.5', 'a gain', kind='float'),
        GraphArgument('out', 'data', 'a folder', kind='path'),
        GraphArgument('names', 'a, b', 'names', kind='names'),
        GraphArgument('offset', '0,0,1', 'a vector', kind='vector', size=3),
        GraphArgument('width', '', 'optional size', kind='int', optional=True, minimum=1),
        GraphArgument('mode', 'x', 'a choice', choices=('x', 'y')))


def test_arguments_are_typed_with_defaults():
    values = resolve_arguments(ARGS, {'count': '5', 'width': '64'})
    assert values == {'on': True, 'count': 5, 'gain': 0.5, 'out': os.path.abspath('data'), 'names': ['a', 'b'],
                      'offset': [0.0, 0.0, 1.0], 'width': 64, 'mode': 'x'}
    assert resolve_arguments(ARGS, {})['width'] is None


@pytest.mark.parametrize('args, message', [
    ({'on': 'maybe'}, 'argument on: expected true or false'),
    ({'count': 'x'}, 'argument count: expected an integer'),
    ({'count': '-1'}, 'argument count: expected >= 0'),
    ({'offset': '0,1'}, 'argument offset: expected 3 comma-separated numbers'),
    ({'mode': 'z'}, "argument mode: expected one of \\['x', 'y'\\]"),
    ({'width': '0'}, 'argument width: expected >= 1'),
    ({'speed': '1'}, r"unknown argument\(s\) \['speed'\]"),
])
def test_bad_arguments_name_the_argument(args, message):
    with pytest.raises(ValueError, match=message):
        resolve_arguments(ARGS, args)


def test_ros_arguments_and_params_file(tmp_path):
    spec = NodeSpec('rlhf_teleop', 'teleop', 'teleop_1', parameters={'task': 'stack', 'num_episodes': 3},
                    remappings=[('/joy', '/gamepad/joy')], parameter_files=['base.yaml'])
    params = write_params_file(spec, str(tmp_path))
    assert yaml.safe_load(Path(params).read_text()) == {'/**': {'ros__parameters': {'task': 'stack',
                                                                                     'num_episodes': 3}}}
    assert ros_arguments(spec, params) == ['--ros-args', '-r', '__node:=teleop_1', '--params-file', 'base.yaml',
                                           '--params-file', params, '-r', '/joy:=/gamepad/joy']
    assert write_params_file(NodeSpec('p', 'e', 'n'), str(tmp_path)) is None


def test_only_one_node_ends_a_graph():
    assert graph_end([NodeSpec('p', 'a', 'a'), NodeSpec('p', 'b', 'b', ends_graph=True)]) == 'b'
    assert graph_end([NodeSpec('p', 'a', 'a')]) is None
    with pytest.raises(ValueError, match='only one node'):
        graph_end([NodeSpec('p', 'a', 'a', ends_graph=True), NodeSpec('p', 'b', 'b', ends_graph=True)])


def test_stop_processes_sends_sigint_first(tmp_path):
    marker = tmp_path / 'closed'
    script = textwrap.dedent(f"""
        import signal, sys, time
        def stop(signum, frame):
            open({str(marker)!r}, 'w').write('clean')
            sys.exit(0)
        signal.signal(signal.SIGINT, stop)
        print('ready', flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, '-c', script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == 'ready'
    stubborn = subprocess.Popen([sys.executable, '-c', 'import signal, time\n'
                                 'signal.signal(signal.SIGINT, signal.SIG_IGN)\n'
                                 'signal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint("ready", flush=True)\n'
                                 'time.sleep(60)'], stdout=subprocess.PIPE, text=True)
    assert stubborn.stdout.readline().strip() == 'ready'
    codes = stop_processes({'clean': proc, 'stubborn': stubborn}, sigint_timeout_s=2.0, sigterm_timeout_s=0.5)
    assert codes['clean'] == 0 and marker.read_text() == 'clean'
    assert codes['stubborn'] == -9   # ignored SIGINT and SIGTERM: killed


# -- run_graph with real processes, installed in an ament prefix of their own -----------------------------------

NODE = textwrap.dedent('''\
    #!{python}
    import signal, sys, time
    from pathlib import Path
    name, work = sys.argv[0].rsplit('/', 1)[1], Path({work!r})
    def stop(signum, frame):
        print('closing', flush=True)
        while not (work / 'gate').exists():      # the test opens the gate after its second Ctrl-C
            time.sleep(0.01)
        (work / f'{{name}}.closed').write_text('closed')
        sys.exit(0)
    signal.signal(signal.SIGINT, stop)
    print('running', flush=True)
    if name == 'short':
        sys.exit(0)
    while True:
        time.sleep(0.05)
''')


@pytest.fixture
def prefix(tmp_path, monkeypatch):
    """An ament prefix with package 'fake' and executables 'long' and 'short' (see NODE)."""
    root = tmp_path / 'install'
    (root / 'share' / 'ament_index' / 'resource_index' / 'packages').mkdir(parents=True)
    (root / 'share' / 'ament_index' / 'resource_index' / 'packages' / 'fake').write_text('')
    (root / 'lib' / 'fake').mkdir(parents=True)
    for name in ('long', 'short'):
        exe = root / 'lib' / 'fake' / name
        exe.write_text(NODE.format(python=sys.executable, work=str(tmp_path)))
        exe.chmod(0o755)
    monkeypatch.setenv('AMENT_PREFIX_PATH', f'{root}:{os.environ.get("AMENT_PREFIX_PATH", "")}')
    return tmp_path


SUPERVISOR = textwrap.dedent('''
    import json, sys
    from rlhf_common.graph import NodeSpec
    from rlhf_common.supervisor import run_graph
    specs = [NodeSpec('fake', name, name, ends_graph=name == sys.argv[2]) for name in sys.argv[1].split(',')]
    print('codes ' + json.dumps(run_graph(specs, sigint_timeout_s=60.0)), flush=True)
''')


def supervise(names, ends=''):
    return subprocess.Popen([sys.executable, '-c', SUPERVISOR, names, ends], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def read_until(proc, text, count=1):
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if sum(text in seen for seen in lines) >= count:
            return lines
    raise AssertionError(f'{text!r} x{count} never printed: {"".join(lines)}')


def test_the_graph_ends_with_its_ends_graph_node(prefix):
    (prefix / 'gate').write_text('go')            # nodes close as soon as they are stopped
    proc = supervise('long,short', ends='short')
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, output
    assert 'codes {"long": 0, "short": 0}' in output
    assert (prefix / 'long.closed').exists()     # the other node was stopped with SIGINT, cleanly


def test_ctrl_c_twice_still_closes_every_node(prefix):
    proc = supervise('long')
    try:
        read_until(proc, 'running')
        os.killpg(proc.pid, signal.SIGINT)        # a terminal's Ctrl-C: the supervisor's process group
        read_until(proc, 'closing')
        os.killpg(proc.pid, signal.SIGINT)        # impatient second Ctrl-C while the nodes shut down
        (prefix / 'gate').write_text('go')
        output = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert 'codes {"long": 0}' in output and 'Traceback' not in output
    assert (prefix / 'long.closed').read_text() == 'closed'


def test_missing_executable_starts_nothing(prefix):
    specs = [NodeSpec('fake', 'long', 'long'), NodeSpec('spacenav', 'spacenav_node', 'spacenav')]
    with pytest.raises(FileNotFoundError, match='package spacenav is not installed'):
        check_executables(specs)
    proc = supervise('long,absent')
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode != 0 and 'no executable' in output and 'absent' in output
    assert 'running' not in output
