# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The node main: --help without side effects, clean stops on SIGINT/SIGTERM (also a second one), bad parameters."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from rlhf_common.node import check_parameter_file, flatten_parameters, parameter_help, wants_help

# A node whose shutdown (close) announces itself and then waits until the test lets it finish, so a signal can be
# delivered exactly while it shuts down. Its parameters: 'marker' (file written by close) and 'gate'.
NODE = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    from rclpy.node import Node
    from rlhf_common.node import declare_parameters, run_node

    PARAMETERS = {'marker': '', 'gate': '', 'rate': 10.0}

    class Slow(Node):
        def __init__(self):
            super().__init__('slow')
            self.p = declare_parameters(self, PARAMETERS)
            if self.p['rate'] <= 0:
                raise ValueError(f"parameter rate: expected > 0, got {self.p['rate']}")
            Path(self.p['marker']).write_text('started')
            self.create_timer(1.0 / self.p['rate'], lambda: None)
            print('spinning', flush=True)

        def close(self):
            print('closing', flush=True)
            while not Path(self.p['gate']).exists():
                time.sleep(0.01)
            Path(self.p['marker']).write_text('closed')

    code = run_node(Slow, prog='slow', description='A test node.', parameters=PARAMETERS)
    print('returned', flush=True)   # a late signal from here on (the interpreter exiting) must not kill it
    while not Path(sys.argv[-1] if sys.argv[-1].endswith('exit_gate') else '/').exists():
        time.sleep(0.01)
    sys.exit(code)
''')


def start(tmp_path, *ros_args):
    script = tmp_path / 'slow_node.py'
    script.write_text(NODE)
    marker, gate = tmp_path / 'marker', tmp_path / 'gate'
    args = [sys.executable, str(script), *ros_args]
    if '--help' not in ros_args:
        args += ['--ros-args', '-p', f'marker:={marker}', '-p', f'gate:={gate}', '--', str(tmp_path / 'exit_gate')]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, 'PYTHONUNBUFFERED': '1'})
    return proc, marker, gate


def wait_for_line(proc, text):
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f'process ended before printing {text!r}: {"".join(lines)}')


@pytest.mark.parametrize('first, second', [(signal.SIGINT, signal.SIGINT), (signal.SIGTERM, signal.SIGINT),
                                           (signal.SIGINT, signal.SIGTERM)])
def test_a_second_signal_during_shutdown_does_not_interrupt_it(tmp_path, first, second):
    proc, marker, gate = start(tmp_path)
    try:
        lines = wait_for_line(proc, 'spinning')
        proc.send_signal(first)
        lines += wait_for_line(proc, 'closing')
        proc.send_signal(second)     # what a terminal's Ctrl-C plus ros2 launch's own SIGINT amount to
        gate.write_text('go')
        lines += wait_for_line(proc, 'returned')
        proc.send_signal(second)     # and one more while the process exits
        (tmp_path / 'exit_gate').write_text('go')
        output = ''.join(lines) + proc.stdout.read()
        assert proc.wait(timeout=30) == 0, output
    finally:
        if proc.poll() is None:
            proc.kill()
    assert marker.read_text() == 'closed'
    assert 'Traceback' not in output and 'KeyboardInterrupt' not in output, output


def test_help_prints_the_parameters_and_starts_nothing(tmp_path):
    proc, marker, _ = start(tmp_path, '--help')
    output = proc.stdout.read()
    assert proc.wait(timeout=30) == 0
    assert 'A test node.' in output and 'marker' in output and 'rate' in output and '10.0' in output
    assert not marker.exists()


def test_bad_parameter_exits_2_with_one_line(tmp_path):
    script = tmp_path / 'slow_node.py'
    script.write_text(NODE)
    result = subprocess.run([sys.executable, str(script), '--ros-args', '-p', 'rate:=-1.0', '-p',
                             f'marker:={tmp_path / "marker"}'], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert 'slow: parameter rate: expected > 0, got -1.0' in result.stderr
    assert 'Traceback' not in result.stderr


def test_help_detection_stops_at_ros_arguments():
    assert wants_help(['--help']) and wants_help(['-h', '--ros-args'])
    assert not wants_help(['--ros-args', '-p', 'name:=--help'])


def test_parameter_help_lists_defaults():
    text = parameter_help('node', 'Does things.', {'rate': 30.0, 'topics': ['/a']})
    assert 'Does things.' in text and "rate    30.0" in text and "['/a']" in text


def test_parameter_file_check_names_every_difference(tmp_path):
    path = tmp_path / 'node.yaml'
    path.write_text('node:\n  ros__parameters:\n    rate: 30\n    group:\n      name: x\n    extra: 1\n')
    assert flatten_parameters({'a': {'b': 1}, 'c': 2}) == {'a.b': 1, 'c': 2}
    problems = check_parameter_file(path, 'node', {'rate': 30.0, 'group.name': 'x', 'missing': True})
    assert any('extra is documented' in p for p in problems)
    assert any('rate = 30, the node declares 30.0' in p for p in problems)   # int where the node has a float
    assert any('missing (default True) is not documented' in p for p in problems)
    assert not any('group.name' in p for p in problems)
    assert check_parameter_file(path, 'node', {'rate': 30, 'group.name': 'x', 'extra': 1}) == []


def test_a_repeated_call_takes_the_answer_of_a_server_slower_than_the_resend_period():
    """Every copy of the request is answered after RESEND_AFTER_S: the first answer still ends the call.

    A call that dropped its earlier copies when resending would never complete.
    """
    import threading
    import time

    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from std_srvs.srv import Trigger

    from rlhf_common.node import RESEND_AFTER_S, call_service
    from rlhf_common.testing import RosProbe

    probe = RosProbe()
    server_context = rclpy.Context()
    rclpy.init(context=server_context, domain_id=int(os.environ.get('ROS_DOMAIN_ID', '0')))
    server = rclpy.create_node('slow_server', context=server_context)
    requests = []

    def answer(request, response):
        requests.append(time.monotonic())
        time.sleep(RESEND_AFTER_S * 1.5)
        response.success, response.message = True, f'answer {len(requests)}'
        return response

    server.create_service(Trigger, '/slow_trigger', answer)
    executor = SingleThreadedExecutor(context=server_context)
    executor.add_node(server)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        client = probe.node.create_client(Trigger, '/slow_trigger')
        response = call_service(client, Trigger.Request(), lambda: probe.executor.spin_once(timeout_sec=0.02),
                                timeout_s=60.0)
        # the answer to the first copy, sent before any resend was due, is the one taken
        assert response is not None and response.message == 'answer 1', response
    finally:
        executor.shutdown()
        server.destroy_node()
        rclpy.try_shutdown(context=server_context)
        probe.close()
