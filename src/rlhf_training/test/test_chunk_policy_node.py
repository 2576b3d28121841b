# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""An exported ChunkPolicy through the real ``policy`` node over DDS: the node executes its chunks.

The policy's chunk is known (the network's last layer is zero, so the output is the stored row statistics):
row k moves every arm joint by OFFSETS[k] from the observed pose and closes the gripper. A fake robot at the
ROS topic boundary holds the arm still at Q0 and publishes a camera. With temporal ensembling every tick's
command is then Q0 + the ensemble-weighted mean of the offsets (in steady state, whatever the tick timing);
with receding horizon the commands step through Q0 + OFFSETS[0 .. replan_every-1].
"""

import os
from pathlib import Path
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64MultiArray
import torch

from rlhf_policy.actions import ActionSpec
from rlhf_policy.chunking import ChunkExecution
from rlhf_policy.contract import CameraSpec, ObservationSpec, PolicyContract
from rlhf_policy.ros_images import fill_image
from rlhf_training.export import export_policy
from rlhf_training.models import ChunkPolicy, observation_shapes

JOINTS = [f'panda_joint{i}' for i in range(1, 8)] + ['panda_finger_joint1', 'panda_finger_joint2']
Q0 = np.array([0.0, -0.3, 0.0, -2.0, 0.0, 1.8, 0.8, 0.04, 0.04])
HORIZON = 4
OFFSETS = np.array([0.01, 0.02, 0.03, 0.04])


class StillRobot:
    """Joint states at Q0 (100 Hz) and a camera (30 Hz); records the arm and gripper commands."""

    def __init__(self):
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node('still_robot', context=self.context)
        self.lock = threading.Lock()
        self.arm, self.gripper = [], []
        self.image_pub = self.node.create_publisher(Image, '/scene_camera/color', 10)
        self.joint_pub = self.node.create_publisher(JointState, '/joint_states', 10)
        self.node.create_subscription(Float64MultiArray, '/arm_controller/commands', self._on_arm, 100)
        self.node.create_subscription(Float64MultiArray, '/gripper_controller/commands', self._on_gripper, 100)
        self.node.create_timer(1 / 30, self._publish_image)
        self.node.create_timer(1 / 100, self._publish_joints)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def _publish_image(self):
        self.image_pub.publish(fill_image(Image(), np.full((12, 16, 3), 90, np.uint8), 'rgb8'))

    def _publish_joints(self):
        msg = JointState()
        msg.name, msg.position, msg.velocity = JOINTS, Q0.tolist(), [0.0] * 9
        self.joint_pub.publish(msg)

    def _on_arm(self, msg):
        with self.lock:
            self.arm.append(np.array(msg.data))

    def _on_gripper(self, msg):
        with self.lock:
            self.gripper.append(float(msg.data[0]))

    def wait_for_commands(self, count, timeout=60.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if len(self.arm) >= count:
                    return np.array(self.arm), np.array(self.gripper)
            time.sleep(0.05)
        raise AssertionError(f'only {len(self.arm)} commands within {timeout} s (expected {count})')

    def close(self):
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def export_known_chunk_policy(out_dir, execution, history=1):
    obs = ObservationSpec([CameraSpec('scene_camera', 16, 12)], JOINTS, proprio_fields=('position',),
                          proprio_mean=Q0, proprio_std=np.full(9, 0.1), history=history)
    contract = PolicyContract(obs, ActionSpec.for_panda(0.05), rate_hz=30.0, chunk=execution)
    policy = ChunkPolicy(observation_shapes(obs), horizon=HORIZON, hidden_dims=(16,), image_feature_dim=8)
    with torch.no_grad():
        policy.head.net[-1].weight.zero_()
        policy.head.net[-1].bias.zero_()
    mean = torch.zeros(HORIZON, 8, dtype=torch.float64)
    mean[:, :7] = torch.from_numpy(OFFSETS)[:, None]
    mean[:, 7] = 0.001                     # nearly closed: the threshold closes the gripper fully
    policy.set_action_statistics(mean.float(), torch.ones(HORIZON, 8))
    export_policy(policy, contract, out_dir)
    return Path(out_dir) / 'contract.yaml'


@pytest.fixture
def robot():
    r = StillRobot()
    yield r
    r.close()


def run_node(contract_path, log_path):
    args = [sys.executable, '-m', 'rlhf_policy.policy_node', '--ros-args', '-p', f'contract:={contract_path}',
            '-p', 'ramp_duration_s:=0.1', '-p', 'max_observation_age_ms:=500.0', '-p', 'realtime_priority:=0']
    log = open(log_path, 'w')
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy()), log


def stop_node(proc, log):
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


@pytest.mark.parametrize('execution, history', [
    (ChunkExecution(HORIZON, 'temporal_ensemble', ensemble_decay=0.5), 1),
    (ChunkExecution(HORIZON, 'receding_horizon', replan_every=3), 1),
    (ChunkExecution(HORIZON, 'receding_horizon', replan_every=3), 3)],   # inputs of 3 stacked frames
    ids=['temporal_ensemble', 'receding_horizon', 'receding_horizon_history'])
def test_policy_node_executes_an_exported_chunk_policy(tmp_path, robot, execution, history):
    contract_path = export_known_chunk_policy(tmp_path / 'model', execution, history)
    proc, log = run_node(contract_path, tmp_path / 'policy.log')
    try:
        arm, gripper = robot.wait_for_commands(60)
    finally:
        stop_node(proc, log)
    steady = arm[30:] - Q0[:7]          # past the start-up ramp and the first chunks
    assert np.allclose(steady, steady[:, :1], atol=1e-9)     # every arm joint gets the same offset
    if execution.execution == 'temporal_ensemble':
        weights = np.exp(-0.5 * np.arange(HORIZON))
        np.testing.assert_allclose(steady[:, 0], np.dot(weights, OFFSETS) / weights.sum(), atol=1e-6)
    else:
        # one chunk per 3 ticks, played row by row: offsets 0.01, 0.02, 0.03, 0.01, ...
        assert set(np.round(steady[:, 0], 6)) == {0.01, 0.02, 0.03}
        rows = np.round(steady[:, 0] / 0.01).astype(int) - 1
        assert np.all((np.diff(rows) == 1) | (np.diff(rows) == -2))
    assert gripper[-1] == 0.0 and np.all(np.diff(gripper) <= 1e-12)   # closes decisively, never reopens
