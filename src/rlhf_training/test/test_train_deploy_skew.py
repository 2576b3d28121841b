# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Train/deploy skew: what the policy node fed ONNX equals what training reads from the recorded bag, bit for bit.

The policy node (simulator + policy + recorder over DDS) logs every tick's model inputs with the header stamps of
the messages they came from. The test reads those very messages back from the episode's bag, builds the episode the
reader would, and runs it through the training data path (``rlhf_training.data.episode_arrays``: image decoding,
area resize, depth scaling, proprio normalisation, state features, previous-command rule).
"""

import numpy as np
from std_msgs.msg import Float64MultiArray

from rlhf_common.testing import NodeProcesses, RosProbe
from rlhf_msgs.msg import RecorderStatus
from rlhf_policy.actions import ActionSpec
from rlhf_policy.contract import CameraSpec, ObservationSpec, PolicyContract
from rlhf_policy.graph import deploy_graph
from rlhf_policy.onnx_models import build_policy_model
from rlhf_recorder.catalog import Catalog
from rlhf_recorder.reader import Episode, image_to_array, read_messages
from rlhf_training.data import episode_arrays

FEATURES = ['object_position', 'target_position', 'previous_command', 'end_effector_position']


def make_policy(folder):
    joints = [f'panda_joint{i}' for i in range(1, 8)] + ['panda_finger_joint1', 'panda_finger_joint2']
    rng = np.random.default_rng(3)
    dim = 18 + 3 + 3 + 8 + 3
    obs = ObservationSpec([CameraSpec('scene_camera', 40, 30, use_depth=True, max_depth_m=2.5)], joints,
                          state_features=FEATURES, proprio_mean=rng.normal(size=dim),
                          proprio_std=rng.uniform(0.3, 2.0, dim))
    contract = PolicyContract(obs, ActionSpec.for_panda(0.02), rate_hz=30.0)
    build_policy_model(contract, folder / 'policy.onnx', hidden=16, conv_channels=(4,))
    return contract, contract.save(folder / 'contract.yaml')


def run_policy(tmp_path, contract_path):
    """Deploy (policy waiting in e-stop), resume once the recorder records, 40 commands, Ctrl-C."""
    specs = deploy_graph({'contract': str(contract_path), 'start_in_estop': 'true', 'record': 'true',
                          'output_dir': str(tmp_path / 'data'), 'task': 'pick_place', 'seed': '4'})
    policy = next(s for s in specs if s.name == 'policy')
    # staleness is not what this test is about: on a loaded machine a slow stream must not stop the model
    policy.parameters.update(inputs_file=str(tmp_path / 'inputs.npz'), realtime_priority=0,
                             max_observation_age_ms=10000.0)
    nodes, probe = NodeProcesses(tmp_path), RosProbe()
    statuses, commands = [], []
    probe.node.create_subscription(RecorderStatus, '/recorder/status', statuses.append, 10)
    probe.node.create_subscription(Float64MultiArray, '/arm_controller/commands', commands.append, 100)
    from std_srvs.srv import Trigger
    resume = probe.node.create_client(Trigger, '/policy/resume')
    try:
        for spec in specs:
            nodes.start(spec)
        assert probe.spin_until(lambda: statuses and statuses[-1].episode_id, timeout=90), nodes.logs()
        assert probe.call(resume, Trigger.Request()) is not None, nodes.logs()
        assert probe.spin_until(lambda: len(commands) >= 40, timeout=120), nodes.logs()
    finally:
        codes = nodes.stop()
        probe.close()
    assert set(codes.values()) == {0}, nodes.logs()
    record = Catalog(tmp_path / 'data').list()[0]
    assert (record.task, record.device) == ('pick_place', 'policy')   # the deployment's task names the recording
    return np.load(tmp_path / 'inputs.npz'), record.path


def stamp_of(msg):
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


def test_the_policy_node_fed_onnx_what_training_reads_from_the_bag(tmp_path):
    contract, contract_path = make_policy(tmp_path)
    logged, bag = run_policy(tmp_path, contract_path)
    by_stamp = {}
    commands = {'/arm_controller/commands': [], '/gripper_controller/commands': []}
    for topic, _, msg in read_messages(bag):
        if topic in commands:
            commands[topic].append(np.asarray(msg.data, dtype=np.float64))
        elif hasattr(msg, 'header'):
            by_stamp[(topic, stamp_of(msg))] = msg
    published = [np.r_[a, g] for a, g in zip(*commands.values())]
    streams = ['/joint_states', '/scene_camera/color', '/scene_camera/depth', '/rlhf_sim/task_state']
    # a tick is checkable when the bag holds the messages it read and the command it was told came before
    found = [all((s, int(logged[f'stamp:{s}'][k])) in by_stamp for s in streams)
             and logged['published_before'][k] <= len(published) for k in range(len(logged['tick_time_s']))]
    # the first ticks may read a message from before the recording began, and the last ones, stopped by the same
    # Ctrl-C as the recorder, may publish what it no longer records; in between every tick is in the bag
    first, last = found.index(True), len(found) - found[::-1].index(True)
    assert all(found[first:last]) and last - first >= 10, found
    rows = range(first, last)

    def msgs(topic):
        return [by_stamp[(topic, int(logged[f'stamp:{topic}'][k]))] for k in rows]

    joints = msgs('/joint_states')
    names = list(joints[0].name)
    tasks = msgs('/rlhf_sim/task_state')
    previous = np.array([published[n - 1] if n > 0 else np.full(8, np.nan)
                         for n in logged['published_before'][first:last]])
    episode = Episode(
        times=np.arange(len(rows)) / 30.0,
        images={'scene_camera': np.stack([image_to_array(m) for m in msgs('/scene_camera/color')])},
        depth={'scene_camera': np.stack([image_to_array(m) for m in msgs('/scene_camera/depth')])},
        joint_names=names, joint_positions=np.array([m.position for m in joints]),
        joint_velocities=np.array([m.velocity for m in joints]), actions=np.zeros((len(rows), 8)),
        task_progress=None, task_success=None, cameras=['scene_camera'],
        object_positions=np.array([[t.object_poses[0].position.x, t.object_poses[0].position.y,
                                    t.object_poses[0].position.z] for t in tasks]),
        target_positions=np.array([[t.target_pose.position.x, t.target_pose.position.y, t.target_pose.position.z]
                                   for t in tasks]),
        previous_commands=previous, metadata={'path': str(bag)})
    trained_on, _ = episode_arrays(contract, episode)
    assert np.isnan(previous[0]).all() == (logged['published_before'][first] == 0)
    for name in contract.onnx_inputs:
        np.testing.assert_array_equal(trained_on[name], logged[name][first:last], err_msg=name)
