# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Every rlhf_msgs interface round-trips over DDS between two nodes."""

import os
import time

from geometry_msgs.msg import Pose
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor

from rlhf_common.node import call_service
from rlhf_msgs.msg import EpisodeEvent, PianoKeys, PolicyStatus, RecorderStatus, TaskState
from rlhf_msgs.srv import EpisodeControl, ResetSim


@pytest.fixture
def nodes():
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=int(os.environ.get('ROS_DOMAIN_ID', '0')))
    sender = rclpy.create_node('sender', context=context)
    receiver = rclpy.create_node('receiver', context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(sender)
    executor.add_node(receiver)
    yield sender, receiver, executor
    executor.shutdown()
    sender.destroy_node()
    receiver.destroy_node()
    rclpy.try_shutdown(context=context)


def spin_until(executor, predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    return predicate()


def sample_messages():
    event = EpisodeEvent(event=EpisodeEvent.SUCCESS, episode_id='20261121T101500_pick_place_0003',
                         task='pick_place', operator_name='alice', device='spacemouse', seed=42,
                         is_sim=True, robot='franka_panda', note='clean grasp')
    event.header.stamp.sec = 1763720100
    state = TaskState(task='stack', object_names=['cube_a', 'cube_b'],
                      object_poses=[Pose(), Pose()], progress=0.75, success=False)
    state.object_poses[1].position.z = 0.05
    state.target_pose.orientation.w = 1.0
    status = PolicyStatus(safety_state=PolicyStatus.STATE_HOLD, reason='scene_camera/color is 212 ms old',
                          model='policy.onnx', execution_provider='CPUExecutionProvider',
                          target_rate_hz=30.0, achieved_rate_hz=29.98, jitter_p99_ms=0.7,
                          inference_latency_ms=1.2, inference_latency_p99_ms=2.1,
                          observation_age_ms=212.0, ticks=10000, missed_ticks=0)
    recorder = RecorderStatus(ready=False, silent_topics=['/wrist_camera/depth'], stream_timeout_s=1.0,
                              episode_id='20261121T101500_pick_place_0003')
    keys = PianoKeys(pressed=[i in (39, 43) for i in range(88)], key_positions=[0.5] * 88, sustain=True,
                     sustain_position=0.9, goal=[i == 39 for i in range(88)], goal_sustain=False,
                     song='TwinkleTwinkleLittleStar', frame=12)
    return [event, state, status, recorder, keys]


@pytest.mark.parametrize('message', sample_messages(), ids=lambda m: type(m).__name__)
def test_message_round_trip(nodes, message):
    sender, receiver, executor = nodes
    received = []
    topic = f'/test_{type(message).__name__.lower()}'
    receiver.create_subscription(type(message), topic, received.append, 10)
    publisher = sender.create_publisher(type(message), topic, 10)
    assert spin_until(executor, lambda: publisher.get_subscription_count() > 0), 'no DDS discovery'
    publisher.publish(message)
    assert spin_until(executor, lambda: received), f'{topic}: nothing received'
    assert received[0] == message


def test_services_round_trip(nodes):
    server_node, client_node, executor = nodes

    def control(request, response):
        response.success = request.command == EpisodeControl.Request.STOP_SUCCESS
        response.message = f'stopped, note={request.note}'
        response.episode_id = 'ep_7'
        response.episodes_saved = 7
        return response

    def reset(request, response):
        response.success, response.seed, response.message = True, request.seed + 1, request.task
        return response

    server_node.create_service(EpisodeControl, '/episode/control', control)
    server_node.create_service(ResetSim, '/rlhf_sim/reset', reset)
    for srv_type, name, request, expected in [
        (EpisodeControl, '/episode/control',
         EpisodeControl.Request(command=EpisodeControl.Request.STOP_SUCCESS, note='ok'),
         EpisodeControl.Response(success=True, message='stopped, note=ok', episode_id='ep_7', episodes_saved=7)),
        (ResetSim, '/rlhf_sim/reset', ResetSim.Request(task='insertion', seed=9),
         ResetSim.Response(success=True, message='insertion', seed=10)),
    ]:
        client = client_node.create_client(srv_type, name)
        response = call_service(client, request, lambda: executor.spin_once(timeout_sec=0.02), timeout_s=30.0)
        assert response == expected, f'{name}: {response}'
