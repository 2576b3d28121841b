# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Policy contract: YAML round-trip, validation errors that name file and field, action conversion."""

import numpy as np
import pytest
import yaml

from rlhf_common.robot import ARM_JOINT_LOWER, ARM_JOINT_UPPER
from rlhf_policy.actions import ActionGroup, ActionSpec
from rlhf_policy.contract import CameraSpec, ContractError, ObservationSpec, PolicyContract

JOINTS = [f'panda_joint{i}' for i in range(1, 8)] + ['panda_finger_joint1', 'panda_finger_joint2']


def make_contract():
    obs = ObservationSpec(cameras=[CameraSpec('scene_camera', 32, 24), CameraSpec('wrist_camera', 16, 16, True, 1.5)],
                          joint_names=JOINTS, proprio_mean=np.linspace(-1, 1, 18), proprio_std=np.full(18, 0.5))
    return PolicyContract(obs, ActionSpec.for_panda(0.05), metadata={'run': 'test', 'step': 3})


def test_round_trip(tmp_path):
    contract = make_contract()
    path = contract.save(tmp_path / 'm' / 'contract.yaml')
    loaded = PolicyContract.load(path)
    assert loaded.onnx_inputs == ['scene_camera', 'wrist_camera', 'proprio']
    assert loaded.observation.cameras == contract.observation.cameras
    np.testing.assert_array_equal(loaded.observation.proprio_mean, contract.observation.proprio_mean)
    np.testing.assert_array_equal(loaded.action.upper, contract.action.upper)
    assert loaded.metadata == {'run': 'test', 'step': 3}
    assert loaded.to_dict() == contract.to_dict()
    assert loaded.input_shapes() == {'scene_camera': (3, 24, 32), 'wrist_camera': (4, 16, 16), 'proprio': (18,)}
    assert loaded.model_path(path) == (tmp_path / 'm' / 'policy.onnx').resolve()


def test_observation_history_round_trip_and_shapes(tmp_path):
    contract = make_contract()
    assert 'history' not in contract.to_dict()['observation']   # contracts without history read as before
    contract.observation.history = 2
    loaded = PolicyContract.load(contract.save(tmp_path / 'contract.yaml'))
    assert loaded.observation.history == 2
    assert loaded.input_shapes() == {'scene_camera': (6, 24, 32), 'wrist_camera': (8, 16, 16), 'proprio': (36,)}


def _write(tmp_path, mutate):
    data = make_contract().to_dict()
    mutate(data)
    path = tmp_path / 'contract.yaml'
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize('mutate, field, expected', [
    (lambda d: d['observation']['cameras'][1].update(width=-3), 'observation.cameras[1].width', 'positive integer'),
    (lambda d: d['observation'].update(proprio_std=[1.0] * 5), 'observation.proprio_std', '18 numbers'),
    (lambda d: d['action']['groups'][0].update(lower=[0.0] * 7, upper=[0.0] * 7), 'action.groups[0].upper',
     'greater'),
    (lambda d: d['action']['groups'][0].update(max_delta=0), 'action.groups[0].max_delta', 'positive number'),
    (lambda d: d['action']['groups'][1].update(mode='teleport'), 'action.groups[1].mode', 'one of'),
    (lambda d: d['action']['groups'][1].update(lower=[0.0, 0.0]), 'action.groups[1].lower', '1 finite numbers'),
    (lambda d: d.update(onnx_inputs=['scene_camera', 'top_camera']), 'onnx_inputs[1]', 'a camera of'),
    (lambda d: d.update(rate_hz='fast'), 'rate_hz', 'positive number'),
    (lambda d: d['observation'].update(history=0), 'observation.history', 'positive integer'),
    (lambda d: d.update(colour='red'), 'colour', 'unknown field'),
    (lambda d: d['action']['groups'][0].pop('upper'), 'action.groups[0].upper', 'missing'),
    (lambda d: d['observation'].update(proprio_fields=['position', 'torque']), 'observation.proprio_fields[1]',
     'one of'),
    (lambda d: d['action']['groups'][1].update(lower=[0.04], upper=[0.0]), 'action.groups[1].upper', 'greater'),
])
def test_validation_errors_name_file_and_field(tmp_path, mutate, field, expected):
    path = _write(tmp_path, mutate)
    with pytest.raises(ContractError) as err:
        PolicyContract.load(path)
    msg = str(err.value)
    assert str(path) in msg and f"'{field}'" in msg and expected in msg, msg


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(ContractError, match='cannot read'):
        PolicyContract.load(tmp_path / 'missing.yaml')
    bad = tmp_path / 'bad.yaml'
    bad.write_text('observation: [unclosed')
    with pytest.raises(ContractError, match='not valid YAML'):
        PolicyContract.load(bad)


def test_save_keeps_old_file_when_failing(tmp_path):
    path = make_contract().save(tmp_path / 'contract.yaml')
    before = path.read_text()
    contract = make_contract()
    contract.metadata = {'bad': object()}
    with pytest.raises(yaml.YAMLError):
        contract.save(path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ['contract.yaml']


def test_to_command_delta_clip_and_gripper():
    spec = ActionSpec.for_panda(max_delta_rad=0.1)
    q = np.array([0.0, 0.0, 0.0, -1.0, 0.0, 1.0, 2.85])
    measured = np.r_[q, 0.01]
    action = np.array([1.0, -0.5, 3.0, 0.0, 0.2, -1.0, 1.0, 0.0])
    cmd = spec.to_command(action, measured)
    # 3.0 is clipped to 1.0; joint 7 would reach 2.95 > upper limit 2.8973
    np.testing.assert_allclose(cmd[:7], [0.1, -0.05, 0.1, -1.0, 0.02, 0.9, ARM_JOINT_UPPER[6]])
    assert cmd[7] == pytest.approx(0.02)    # absolute: the middle of the gripper's range, whatever it measures
    assert spec.to_command(np.r_[np.zeros(7), -1.0], measured)[7] == 0.0
    assert spec.to_command(np.r_[np.zeros(7), 1.0], measured)[7] == pytest.approx(0.04)
    low = spec.to_command(-np.ones(8), np.r_[ARM_JOINT_LOWER, 0.0])
    np.testing.assert_allclose(low[:7], ARM_JOINT_LOWER)
    with pytest.raises(ValueError, match='finite'):
        spec.to_command(np.r_[np.nan, np.zeros(7)], measured)
    with pytest.raises(ValueError, match='expected 8 values'):
        spec.to_command(np.zeros(7), measured)


def test_from_commands_inverts_to_command():
    spec = ActionSpec.for_panda(max_delta_rad=0.05)
    rng = np.random.default_rng(0)
    measured = np.r_[rng.uniform(-0.5, 0.5, 7) + np.array([0, 0, 0, -1.5, 0, 1.5, 0]), 0.03]
    action = rng.uniform(-1, 1, 8)
    command = spec.to_command(action, measured)
    batch = spec.from_commands(np.stack([command] * 3), np.stack([measured] * 3))
    np.testing.assert_allclose(batch, np.stack([action] * 3), atol=1e-12)
    # a command further than max_delta saturates at +-1
    far = np.r_[measured[:7] + 1.0, 0.08]
    np.testing.assert_array_equal(spec.from_commands(far[None], measured[None]), np.ones((1, 8)))


def test_measured_command_is_the_commanded_joints_and_the_mean_finger_opening():
    spec = ActionSpec.for_panda()
    names = ['panda_finger_joint2', *[f'panda_joint{i}' for i in range(7, 0, -1)], 'panda_finger_joint1', 'other']
    positions = np.array([0.03, 7, 6, 5, 4, 3, 2, 1, 0.01, 99.0])
    np.testing.assert_allclose(spec.measured_command(names, positions), [1, 2, 3, 4, 5, 6, 7, 0.02])
    np.testing.assert_allclose(spec.measured_command(names, np.stack([positions] * 2))[:, 7], [0.02, 0.02])
    with pytest.raises(ValueError, match="panda_finger_joint1"):
        spec.measured_command(names[:8], positions[:8])


def test_other_action_spaces():
    """A hand with absolute joint targets over its actuator ranges (RoboPianist's actions) on its own controller."""
    hand = ActionSpec([ActionGroup('hand_controller', ['j1', 'j2', 'j3'], 'absolute', [0.0, -1.0, 0.0],
                                   [1.0, 1.0, 2.0])])
    assert (hand.action_dim, hand.command_dim, hand.command_topics) == (3, 3, [('/hand_controller/commands', 3)])
    np.testing.assert_allclose(hand.to_command([-1.0, 0.0, 1.0], np.zeros(3)), [0.0, 0.0, 2.0])
    np.testing.assert_allclose(hand.from_commands([[0.5, 0.5, 0.5]], np.zeros((1, 3))), [[0.0, 0.5, -0.5]])
    obs = ObservationSpec([], ['j1', 'j2', 'j3'], state_features=['previous_command'], command_dim=3)
    contract = PolicyContract(obs, hand)
    assert contract.input_shapes()['proprio'] == (9,)
    with pytest.raises(ContractError, match='observation.command_dim'):
        PolicyContract(ObservationSpec([], ['j1', 'j2', 'j3'], state_features=['previous_command']), hand)
    with pytest.raises(ValueError, match='one group per controller'):
        ActionSpec([hand.groups[0], hand.groups[0]])


def test_format_version_1_contracts_still_load(tmp_path):
    data = make_contract().to_dict()
    data['format_version'] = 1
    data['observation'].pop('command_dim')
    data['action'] = {'arm_joint_names': JOINTS[:7], 'max_delta_rad': 0.07, 'joint_lower': list(ARM_JOINT_LOWER),
                      'joint_upper': list(ARM_JOINT_UPPER), 'gripper_range': [0.0, 0.035]}
    (tmp_path / 'v1.yaml').write_text(yaml.safe_dump(data))
    action = PolicyContract.load(tmp_path / 'v1.yaml').action
    assert [g.controller for g in action.groups] == ['arm_controller', 'gripper_controller']
    assert action.groups[0].max_delta == 0.07 and action.upper[-1] == 0.035 and action.groups[1].coupled


def test_state_features_round_trip_and_old_contracts(tmp_path):
    contract = make_contract()
    obs = contract.observation
    contract.observation = ObservationSpec(obs.cameras, JOINTS, proprio_mean=np.arange(32.0),
                                           proprio_std=np.full(32, 2.0),
                                           state_features=['object_position', 'target_position', 'previous_command'],
                                           task_state_topic='/sim/task_state')
    assert contract.input_shapes()['proprio'] == (18 + 3 + 3 + 8,)   # previous_command: the Panda's 8 commands
    assert contract.observation.uses_task_state
    loaded = PolicyContract.load(contract.save(tmp_path / 'contract.yaml'))
    assert loaded.observation.state_features == ['object_position', 'target_position', 'previous_command']
    assert loaded.observation.task_state_topic == '/sim/task_state'
    assert loaded.to_dict() == contract.to_dict()
    # a contract written before state features existed loads with none
    data = make_contract().to_dict()
    del data['observation']['state_features'], data['observation']['task_state_topic']
    (tmp_path / 'old.yaml').write_text(yaml.safe_dump(data))
    old = PolicyContract.load(tmp_path / 'old.yaml')
    assert old.observation.state_features == [] and old.observation.proprio_dim == 18
    assert not old.observation.uses_task_state
    only_command = ObservationSpec([], JOINTS, state_features=['previous_command'])
    assert only_command.proprio_dim == 26 and not only_command.uses_task_state


def test_piano_features_round_trip_with_their_task_sizes(tmp_path):
    features = ['piano_keys', 'piano_sustain', 'piano_goal', 'piano_fingers']
    obs = ObservationSpec([], JOINTS, proprio_fields=['position'], state_features=features,
                          feature_sizes={'piano_goal': 178, 'piano_fingers': 5})
    assert obs.proprio_dim == 9 + 88 + 1 + 178 + 5
    assert obs.uses_piano_keys and obs.uses_piano_score and not obs.uses_task_state
    contract = PolicyContract(obs, ActionSpec.for_panda())
    loaded = PolicyContract.load(contract.save(tmp_path / 'contract.yaml'))
    assert loaded.to_dict() == contract.to_dict() and loaded.observation.feature_sizes == obs.feature_sizes
    keys_only = ObservationSpec([], JOINTS, state_features=['piano_keys'])
    assert keys_only.uses_piano_keys and not keys_only.uses_piano_score
    assert 'feature_sizes' not in PolicyContract(keys_only, ActionSpec.for_panda()).to_dict()['observation']


@pytest.mark.parametrize('mutate, field, expected', [
    (lambda d: d['observation'].update(state_features=['piano_goal'], proprio_mean=None, proprio_std=None),
     'observation.feature_sizes.piano_goal', 'the size of state feature'),
    (lambda d: d['observation'].update(feature_sizes={'piano_keys': 88}), 'observation.feature_sizes.piano_keys',
     'whose size is the task'),
    (lambda d: d['observation'].update(state_features=['piano_fingers'], feature_sizes={'piano_fingers': 0},
                                       proprio_mean=None, proprio_std=None),
     'observation.feature_sizes.piano_fingers', 'a positive integer'),
    (lambda d: d['observation'].update(state_features=['object_pose']), 'observation.state_features[0]', 'one of'),
    (lambda d: d['observation'].update(state_features='object_position'), 'observation.state_features', 'a list'),
    (lambda d: d['observation'].update(state_features=['object_position', 'object_position']),
     'observation.state_features', 'unique'),
    (lambda d: d['observation'].update(state_features=['object_position']), 'observation.proprio_mean', '21 numbers'),
    (lambda d: d['observation'].update(task_state_topic='task_state'), 'observation.task_state_topic', 'absolute'),
])
def test_state_feature_validation_names_the_field(tmp_path, mutate, field, expected):
    path = _write(tmp_path, mutate)
    with pytest.raises(ContractError) as err:
        PolicyContract.load(path)
    msg = str(err.value)
    assert str(path) in msg and f"'{field}'" in msg and expected in msg, msg


def test_chunk_round_trip_and_errors_name_the_field(tmp_path):
    from rlhf_policy.chunking import ChunkExecution
    contract = make_contract()
    assert 'chunk' not in contract.to_dict() and contract.output_shape == (8,)   # old contracts stay as they were
    contract.chunk = ChunkExecution(horizon=12, execution='receding_horizon', replan_every=4)
    loaded = PolicyContract.load(contract.save(tmp_path / 'contract.yaml'))
    assert loaded.chunk == contract.chunk and loaded.output_shape == (12, 8)
    for chunk, field, expected in [({'horizon': 0}, 'chunk', 'positive integer'),
                                   ({'horizon': 4, 'execution': 'mean'}, 'chunk', 'temporal_ensemble'),
                                   ({'horizon': 4, 'decay': 0.1}, 'chunk.decay', 'unknown field'),
                                   ({'execution': 'receding_horizon'}, 'chunk.horizon', 'missing')]:
        path = _write(tmp_path, lambda d, chunk=chunk: d.update(chunk=chunk))
        with pytest.raises(ContractError) as err:
            PolicyContract.load(path)
        msg = str(err.value)
        assert str(path) in msg and f"'{field}'" in msg and expected in msg, msg
