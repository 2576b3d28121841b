# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The piano node over real DDS: joint states follow the forward-controller command, keys, camera, reset."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Float64MultiArray

from rlhf_common.node import call_service
from rlhf_msgs.msg import PianoKeys, PianoScore
from rlhf_msgs.srv import ResetSim

SONG = 'CMajorScaleOneHand'


@pytest.fixture(scope='module')
def ros_env():
    env = dict(os.environ)
    env.setdefault('ROS_DOMAIN_ID', '12')
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    if env.get('ROS_DISTRO') == 'humble':
        env['ROS_LOCALHOST_ONLY'] = '1'
    env.setdefault('MUJOCO_GL', 'egl')
    return env


@pytest.fixture(scope='module')
def piano_process(ros_env):
    cmd = [sys.executable, '-m', 'rlhf_sim.piano_node', '--ros-args', '-p', f'song:={SONG}',
           '-p', 'camera_width:=64', '-p', 'camera_height:=48', '-p', 'camera_rate:=5.0']
    proc = subprocess.Popen(cmd, env=ros_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    yield proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Probe:
    def __init__(self, domain_id):
        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = rclpy.create_node('piano_probe', context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.latest, self.keys, self.scores = {}, [], []
        for topic, msg_type in [('/joint_states', JointState), ('/piano_camera/color', Image),
                                ('/piano_camera/camera_info', CameraInfo)]:
            self.node.create_subscription(msg_type, topic, lambda m, t=topic: self.latest.__setitem__(t, m), 10)
        self.node.create_subscription(PianoKeys, '/piano/keys', self.keys.append, 100)
        self.node.create_subscription(PianoScore, '/piano/score', self.scores.append, 100)
        self.command_pub = self.node.create_publisher(Float64MultiArray, '/hand_controller/commands', 10)
        self.reset_client = self.node.create_client(ResetSim, '/rlhf_sim/reset')

    def spin_until(self, condition, timeout, what, proc):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.05)
            if condition():
                return
            if proc.poll() is not None:
                pytest.fail(f'piano node exited while waiting for {what}:\n{proc.stdout.read()}')
        pytest.fail(f'timed out after {timeout} s waiting for {what}')

    def close(self):
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


@pytest.fixture(scope='module')
def probe(ros_env, piano_process):
    p = Probe(int(ros_env['ROS_DOMAIN_ID']))
    p.spin_until(lambda: '/joint_states' in p.latest and p.keys, 90.0, '/joint_states and /piano/keys',
                 piano_process)
    yield p
    p.close()


def test_topics_have_the_documented_layout(probe, piano_process):
    from rlhf_sim.piano import PianoEnv, PianoTask
    env = PianoEnv(PianoTask(song=SONG))
    names = env.joint_state_with_coupled()[0]
    env.close()
    joints = probe.latest['/joint_states']
    # 23 joints, then the coupled distal joints and the pedal that the command drives
    assert list(joints.name) == names and len(joints.position) == len(joints.velocity) == 28
    assert names[23:] == ['rh_FFJ0', 'rh_MFJ0', 'rh_RFJ0', 'rh_LFJ0', 'sustain']
    keys = probe.keys[-1]
    assert len(keys.pressed) == len(keys.key_positions) == len(keys.goal) == 88
    assert keys.song == SONG
    probe.spin_until(lambda: probe.scores, 30.0, '/piano/score', piano_process)
    score = probe.scores[-1]
    # lookahead 1: this step's and the next frame's 88 keys + pedal; the right hand's five fingers
    assert (score.song, score.lookahead, len(score.goal), len(score.fingers)) == (SONG, 1, 178, 5)
    probe.spin_until(lambda: '/piano_camera/color' in probe.latest and '/piano_camera/camera_info' in probe.latest,
                     30.0, 'camera topics', piano_process)
    image = probe.latest['/piano_camera/color']
    assert (image.encoding, image.width, image.height) == ('rgb8', 64, 48)
    assert np.frombuffer(bytes(image.data), np.uint8).std() > 5.0


def since_reset(messages):
    """The messages of the song since the last reset: frames from before it come first, and the numbers go back."""
    frames = [m.frame for m in messages]
    return messages[max([i for i in range(1, len(frames)) if frames[i] < frames[i - 1]], default=0):]


def test_the_song_is_played_frame_by_frame_and_reset_restarts_it(probe, piano_process):
    client = probe.reset_client
    # before the reset: the frames right after it must all be kept, however late the answer
    probe.keys.clear()
    probe.scores.clear()
    reply = call_service(client, ResetSim.Request(task='', seed=3), lambda: probe.executor.spin_once(timeout_sec=0.02),
                         timeout_s=30.0)
    assert reply is not None and reply.success and reply.seed == 3, reply
    def key_frame_after_reset():   # the reset publishes frame 0; then a frame that wants a key, and one more
        keys = since_reset(probe.keys)
        return keys and keys[0].frame == 0 and any(any(k.goal) for k in keys[:-1])
    probe.spin_until(key_frame_after_reset, 30.0, 'a goal key after the reset', piano_process)
    keys = since_reset(probe.keys)
    frames = [k.frame for k in keys]
    assert frames == sorted(frames) and frames[-1] > 0
    first = next(k for k in keys if any(k.goal))
    assert list(first.goal).index(True) == 51        # the scale starts on C5
    # the score after frame f asks for what frame f + 1 then wants: its first goal frame is that frame's keys
    keys = {k.frame: k for k in keys}
    scores = [s for s in since_reset(probe.scores) if s.frame + 1 in keys and s.frame < first.frame + 5]
    assert any(any(s.goal[:88]) for s in scores)
    for score in scores:
        assert list(score.goal[:88]) == list(keys[score.frame + 1].goal), score.frame
    bad = client.call_async(ResetSim.Request(task='NocturneRousseau', seed=0))
    probe.spin_until(bad.done, 10.0, 'the refused reset', piano_process)
    assert not bad.result().success and 'NocturneRousseau' in bad.result().message


def test_joints_follow_the_forward_controller_command(probe, piano_process):
    from rlhf_sim.piano import PianoEnv, PianoTask
    env = PianoEnv(PianoTask(song=SONG))
    low, high = env.actuator_range
    names = env.joint_names
    env.close()
    target = low + 0.9 * (high - low)                       # forearm_tx near its upper limit
    tx = names.index('rh_forearm_tx')
    start = probe.latest['/joint_states'].position[tx]
    msg = Float64MultiArray(data=[float(v) for v in target])
    for _ in range(5):
        probe.command_pub.publish(msg)
        probe.executor.spin_once(timeout_sec=0.05)
    probe.spin_until(lambda: abs(probe.latest['/joint_states'].position[tx] - target[-3]) < 0.05, 30.0,
                     'the forearm to reach its commanded position', piano_process)
    assert abs(probe.latest['/joint_states'].position[tx] - start) > 0.05
    probe.command_pub.publish(Float64MultiArray(data=[0.0, 1.0]))   # wrong length: ignored with a warning
