# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The ``deploy`` script runs the real graph: the simulator node and the policy node drive the arm over DDS."""

import os
import signal
import subprocess
import threading
import time

import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

from rlhf_common.graph import NodeSpec, executable_path
from rlhf_common.robot import ARM_JOINT_NAMES, FINGER_JOINT_NAMES
from rlhf_msgs.msg import PolicyStatus
from rlhf_policy.contract import ActionSpec, CameraSpec, ObservationSpec, PolicyContract
from rlhf_policy.onnx_models import build_policy_model
from rlhf_policy.safety import RUNNING

JOINTS = ARM_JOINT_NAMES + FINGER_JOINT_NAMES


def test_deploy_drives_the_simulated_arm(tmp_path):
    obs = ObservationSpec([CameraSpec('scene_camera', 32, 24)], JOINTS, proprio_std=np.full(18, 0.1))
    contract = PolicyContract(obs, ActionSpec.for_panda(0.05))
    build_policy_model(contract, tmp_path / 'policy.onnx', hidden=16, seed=1)
    path = contract.save(tmp_path / 'contract.yaml')
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node('deploy_test', context=context)
    seen = {'status': None, 'q': [], 'commands': []}
    node.create_subscription(Float64MultiArray, '/arm_controller/commands',
                             lambda m: seen['commands'].append(np.array(m.data)), 10)
    node.create_subscription(PolicyStatus, '/policy/status', lambda m: seen.update(status=m), 10)
    node.create_subscription(JointState, '/joint_states', lambda m: seen['q'].append(np.array(m.position[:7])), 10)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    threading.Thread(target=executor.spin, daemon=True).start()
    deploy = str(executable_path(NodeSpec('rlhf_policy', 'deploy', 'deploy')))
    proc = subprocess.Popen([deploy, '--contract', str(path), '--seed', '3'],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ.copy())
    try:
        end = time.monotonic() + 90
        # Discovery is pairwise: the policy node may run on the sim's joint states before this node has
        # matched the sim's publisher, so wait for both (CI once saw 30 commands and no joint state).
        while time.monotonic() < end and not (seen['status'] and seen['status'].safety_state == RUNNING
                                              and seen['q']):
            time.sleep(0.1)
        assert seen['status'] is not None and seen['status'].safety_state == RUNNING
        assert seen['q'], 'no /joint_states from the sim reached the test node'
        start, first_cmd = len(seen['q']), len(seen['commands'])
        end = time.monotonic() + 90   # however slow the machine: 30 more commands, then the arm must have followed
        while time.monotonic() < end and (len(seen['commands']) - first_cmd <= 30 or len(seen['q']) <= start + 1):
            time.sleep(0.1)
        commands = seen['commands'][first_cmd:]
        assert len(commands) > 30 and np.max(np.abs(commands[-1] - commands[0])) > 0.01
        # the simulated arm follows the policy: it ends nearer the last command than where it started
        q0, q1 = seen['q'][start], seen['q'][-1]
        assert np.linalg.norm(q1 - commands[-1]) < np.linalg.norm(q0 - commands[-1])
        assert seen['status'].ticks > 30
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
    assert proc.returncode == 0, out[-3000:]
    assert '[sim' in out and '[policy' in out
