# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The live_view node over real DDS, watched by a Foxglove WebSocket client that subscribes and decodes frames."""

import json
import struct
import time

from conftest import wait_for
from mcap.records import Schema
from mcap_ros2.decoder import DecoderFactory
import numpy as np
import pytest
import rclpy
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image, JointState
from websockets.sync.client import connect

from rlhf_msgs.msg import EpisodeEvent, PolicyStatus

RELIABLE = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
TOPICS = ['/joint_states', '/scene_camera/color', '/episode/events', '/policy/status', '/never/published']


class FoxgloveClient:
    """The client side of the Foxglove WebSocket protocol: advertised channels, subscriptions, message frames."""

    def __init__(self, ws):
        self.ws = ws
        self.channels = {}       # topic -> advertised channel
        self.subscribed = {}     # subscription id -> channel
        self.decoders = {}
        self.frames = []         # (topic, log_time_ns, decoded message)

    def pump(self, timeout=0.2):
        """Read whatever the server sent within ``timeout``: JSON control messages and binary message frames."""
        try:
            message = self.ws.recv(timeout=timeout)
        except TimeoutError:
            return
        if isinstance(message, str):
            op = json.loads(message)
            if op['op'] == 'advertise':
                for channel in op['channels']:
                    self.channels[channel['topic']] = channel
            return
        opcode, = struct.unpack_from('<B', message)
        if opcode == 1:  # MessageData: subscription id, log time, payload
            sub_id, log_time = struct.unpack_from('<IQ', message, 1)
            channel = self.subscribed[sub_id]
            self.frames.append((channel['topic'], log_time, self.decoders[sub_id](message[13:])))

    def subscribe(self, topic):
        channel = self.channels[topic]
        sub_id = len(self.subscribed) + 1
        self.subscribed[sub_id] = channel
        # Decode with nothing but what the server advertised, as the Foxglove app does.
        schema = Schema(id=channel['id'], name=channel['schemaName'], encoding=channel['schemaEncoding'],
                        data=channel['schema'].encode())
        self.decoders[sub_id] = DecoderFactory().decoder_for(channel['encoding'], schema)
        self.ws.send(json.dumps({'op': 'subscribe', 'subscriptions': [{'id': sub_id, 'channelId': channel['id']}]}))


def test_a_foxglove_client_receives_decodable_frames_of_every_stream(context, spinning):
    from rlhf_recorder.live_view_node import LiveViewNode

    add = spinning
    robot = rclpy.create_node('fake_robot', context=context)
    joints = robot.create_publisher(JointState, '/joint_states', RELIABLE)
    color = robot.create_publisher(Image, '/scene_camera/color', RELIABLE)
    events = robot.create_publisher(EpisodeEvent, '/episode/events', RELIABLE)
    status = robot.create_publisher(PolicyStatus, '/policy/status', RELIABLE)
    add(robot)
    view = add(LiveViewNode(context=context, parameter_overrides=[
        Parameter('port', value=0), Parameter('topics', value=TOPICS), Parameter('image_rate_hz', value=0.0),
        Parameter('discovery_period_s', value=0.2)]))
    wait_for(lambda: len(view.types) == 4, what='live view subscriptions')
    with connect(f'ws://127.0.0.1:{view.view.port}', subprotocols=['foxglove.sdk.v1'], open_timeout=10) as ws:
        client = FoxgloveClient(ws)
        wait_for(lambda: client.pump() or len(client.channels) == 4, what='advertised channels')
        assert '/never/published' not in client.channels
        assert client.channels['/joint_states']['schemaName'] == 'sensor_msgs/msg/JointState'
        assert client.channels['/episode/events']['schemaEncoding'] == 'ros2msg'
        for topic in ('/joint_states', '/scene_camera/color', '/episode/events', '/policy/status'):
            client.subscribe(topic)
        # Subscribed: publish until each stream has delivered a frame (best effort: a first one may be missed).
        pixels = np.arange(6 * 8 * 3, dtype=np.uint8)
        i = 0

        def publish_and_pump():
            nonlocal i
            i += 1
            joints.publish(JointState(name=['panda_joint1'], position=[0.5 + i], velocity=[0.0]))
            color.publish(Image(height=6, width=8, encoding='rgb8', step=24, data=pixels.tobytes()))
            events.publish(EpisodeEvent(event=EpisodeEvent.START, episode_id=f'ep_{i}', task='reach'))
            status.publish(PolicyStatus(achieved_rate_hz=29.9, safety_state=PolicyStatus.STATE_RUNNING))
            client.pump(timeout=0.05)
            return {t for t, _, _ in client.frames} == {'/joint_states', '/scene_camera/color', '/episode/events',
                                                        '/policy/status'}

        wait_for(publish_and_pump, what='a frame on every subscribed topic')
    decoded = {}
    for topic, log_time, msg in client.frames:
        decoded.setdefault(topic, msg)
        assert abs(log_time - time.time_ns()) < 600 * 10**9   # log time is the receive time (ns since the epoch)
    assert decoded['/joint_states'].name == ['panda_joint1'] and decoded['/joint_states'].position[0] >= 1.5
    image = decoded['/scene_camera/color']
    assert (image.height, image.width, image.encoding) == (6, 8, 'rgb8')
    assert np.array_equal(np.frombuffer(bytes(image.data), np.uint8), pixels)
    assert decoded['/episode/events'].event == EpisodeEvent.START
    assert decoded['/episode/events'].episode_id.startswith('ep_') and decoded['/episode/events'].task == 'reach'
    assert decoded['/policy/status'].achieved_rate_hz == pytest.approx(29.9)
    assert decoded['/policy/status'].safety_state == PolicyStatus.STATE_RUNNING


def test_images_are_thinned_to_the_configured_rate(msgs):
    from rlhf_recorder.live_view import LiveView

    view = LiveView(port=0, image_rate_hz=10.0)
    try:
        view.add_topic('/cam/color', 'sensor_msgs/msg/Image')
        view.add_topic('/joint_states', 'sensor_msgs/msg/JointState')
        joint = msgs.joint_state([], np.zeros(0), np.zeros(0))
        sent = [view.message('/cam/color', b'\x00\x01\x00\x00', t * 10**9 // 30) for t in range(30)]   # 1 s at 30 Hz
        assert sum(sent) == 10 and sent[0] and not sent[1] and not sent[2] and sent[3]
        assert all(view.message('/joint_states', joint, t * 10**7) for t in range(100))   # not images
        assert not view.message('/unknown', joint, 0)
    finally:
        view.close()
