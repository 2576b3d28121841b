# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The policy's observation buffers (no ROS): what a tick feeds the model equals ``preprocess``."""

from conftest import JOINTS, FakeImage
import numpy as np
import pytest

from rlhf_policy.actions import ActionSpec
from rlhf_policy.contract import ObservationSpec, PolicyContract
from rlhf_policy.inference import OnnxPolicy
from rlhf_policy.observations import ObservationAssembler
from rlhf_policy.onnx_models import build_policy_model
from rlhf_policy.preprocess import preprocess
from rlhf_policy.ros_images import color_to_rgb, depth_to_metres, fill_image


def test_assembler_equals_preprocess_and_model_runs(tmp_path, camera_contract):
    contract = camera_contract
    build_policy_model(contract, tmp_path / 'policy.onnx', conv_channels=(4,))
    rng = np.random.default_rng(0)
    scene = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    wrist = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    depth = rng.uniform(0, 2, (16, 16)).astype(np.float32)
    order = list(reversed(JOINTS))  # /joint_states may list joints in any order
    pos, vel = rng.normal(size=9), rng.normal(size=9)
    asm = ObservationAssembler(contract)
    assert asm.missing() == ['/joint_states', '/scene_camera/color', '/wrist_camera/color', '/wrist_camera/depth']
    # through the same decoding the node uses
    asm.on_color('scene_camera', color_to_rgb(fill_image(FakeImage(), scene, 'rgb8')), 1.0)
    bgr = fill_image(FakeImage(), wrist[:, :, ::-1], 'bgr8')
    asm.on_color('wrist_camera', color_to_rgb(bgr), 1.0)
    asm.on_depth('wrist_camera', depth_to_metres(fill_image(FakeImage(), depth, '32FC1')), 1.1)
    assert asm.on_joint_state(order, pos[::-1], vel[::-1], 1.2)
    assert asm.missing() == [] and asm.oldest(1.5) == ('/scene_camera/color', pytest.approx(0.5))
    inputs = asm.assemble()
    expected = preprocess(contract, {'scene_camera': scene, 'wrist_camera': wrist}, {'wrist_camera': depth}, pos, vel)
    for name in expected:
        np.testing.assert_array_equal(inputs[name], expected[name])
    np.testing.assert_allclose(asm.measured_command, np.r_[pos[:7], pos[7:9].mean()])   # fingers: their mean
    policy = OnnxPolicy(tmp_path / 'policy.onnx', contract, provider='cpu')
    assert policy.provider == 'CPUExecutionProvider' and policy.missing_inputs == [] and policy.shape_errors == []
    action = policy.run(inputs)
    assert action.shape == (8,) and np.all(np.abs(action) <= 1.0)
    assert not np.array_equal(action, policy.run({**inputs, 'proprio': inputs['proprio'] + 1.0}))


def test_joint_state_missing_joint_is_reported(camera_contract):
    asm = ObservationAssembler(camera_contract)
    assert not asm.on_joint_state(JOINTS[:-1], np.zeros(8), np.zeros(8), 0.0)
    assert 'panda_finger_joint2' in asm.joint_error and asm.arrival['/joint_states'] is None


def test_assembler_state_features_equal_preprocess():
    features = ['object_position', 'target_position', 'previous_command']
    rng = np.random.default_rng(4)
    obs = ObservationSpec([], JOINTS, state_features=features, task_state_topic='/sim/task_state',
                          proprio_mean=rng.normal(size=32), proprio_std=rng.uniform(0.5, 2, 32))
    contract = PolicyContract(obs, ActionSpec.for_panda())
    asm = ObservationAssembler(contract)
    assert asm.missing() == ['/joint_states', '/sim/task_state']
    pos, vel = rng.normal(size=9), rng.normal(size=9)
    assert asm.on_joint_state(JOINTS, pos, vel, 1.0)
    objects, target = rng.normal(size=(2, 3)), rng.normal(size=3)
    asm.on_task_state(objects, target, 1.1)
    assert asm.missing() == [] and asm.oldest(1.5) == ('/joint_states', pytest.approx(0.5))
    # before the node has published: the previous command is the measured pose ("hold")
    hold = np.r_[pos[:7], pos[7:9].mean()]
    state = {'object_position': objects[0], 'target_position': target, 'previous_command': hold}
    np.testing.assert_array_equal(asm.assemble()['proprio'], preprocess(contract, {}, {}, pos, vel, state)['proprio'])
    command = rng.normal(size=8)
    asm.on_command(command)
    command_copy = command.copy()
    command[:] = 0.0  # the node reuses its command buffer: the assembler keeps its own copy
    got = asm.assemble()['proprio']
    np.testing.assert_array_equal(got, preprocess(contract, {}, {}, pos, vel,
                                                  {**state, 'previous_command': command_copy})['proprio'])
    asm.forget_command()  # e-stop: the next start ramps from the measured pose, and so does the previous command
    np.testing.assert_array_equal(asm.assemble()['proprio'], preprocess(contract, {}, {}, pos, vel, state)['proprio'])
    with pytest.raises(ValueError, match='no object pose'):
        asm.on_task_state(np.zeros((0, 3)), target, 1.2)


def test_assembler_piano_features_come_from_the_keys_and_the_score():
    features = ['piano_keys', 'piano_sustain', 'piano_goal', 'piano_fingers']
    obs = ObservationSpec([], JOINTS, proprio_fields=['position'], state_features=features,
                          feature_sizes={'piano_goal': 178, 'piano_fingers': 5})
    contract = PolicyContract(obs, ActionSpec.for_panda())
    asm = ObservationAssembler(contract)
    assert asm.missing() == ['/joint_states', '/piano/keys', '/piano/score']
    rng = np.random.default_rng(5)
    pos = rng.normal(size=9)
    keys, goal, fingers = rng.uniform(size=88), rng.uniform(size=178) > 0.5, rng.uniform(size=5) > 0.5
    assert asm.on_joint_state(JOINTS, pos, np.zeros(9), 1.0)
    asm.on_piano_keys(list(keys), 0.25, 1.0)
    asm.on_piano_score([bool(v) for v in goal], [bool(v) for v in fingers], 1.0)   # message fields: lists of bool
    assert asm.ready
    state = {'piano_keys': keys, 'piano_sustain': [0.25], 'piano_goal': goal, 'piano_fingers': fingers}
    np.testing.assert_array_equal(asm.assemble()['proprio'], preprocess(contract, {}, {}, pos, pos, state)['proprio'])
    # a score of another task (lookahead 2) is refused whole: neither its goal nor its fingers are taken
    with pytest.raises(ValueError, match=r'/piano/score: expected 178 values in goal .*piano_goal.*, got 267'):
        asm.on_piano_score([True] * 267, [True] * 5, 2.0)
    assert asm.arrival['/piano/score'] == 1.0
    np.testing.assert_array_equal(asm.state['piano_fingers'], fingers)


def test_assembler_previous_command_only_needs_no_task_state():
    obs = ObservationSpec([], JOINTS, state_features=['previous_command'])
    asm = ObservationAssembler(PolicyContract(obs, ActionSpec.for_panda()))
    assert asm.missing() == ['/joint_states']


def test_model_inputs_are_the_stacked_history_the_model_ran_on():
    obs = ObservationSpec([], JOINTS, proprio_fields=['position'], history=2)
    asm = ObservationAssembler(PolicyContract(obs, ActionSpec.for_panda()))
    for k in (1.0, 2.0):
        asm.on_joint_state(JOINTS, np.full(9, k), np.zeros(9), k)
        ran_on = asm.assemble()
    assert asm.model_inputs is ran_on and ran_on['proprio'].shape == (1, 18)    # what the inputs_file records
    np.testing.assert_array_equal(asm.model_inputs['proprio'][0], [1.0] * 9 + [2.0] * 9)
