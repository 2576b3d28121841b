# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Offline rollouts of a trained policy: the torch policy and its ONNX export drive the control loop alike."""

import json

import av
import numpy as np
import pytest
import torch

from rlhf_policy.actions import ActionSpec
from rlhf_policy.cli import evaluate_offline_main
from rlhf_policy.contract import CameraSpec, ObservationSpec, PolicyContract
from rlhf_policy.inference import OnnxPolicy
from rlhf_policy.sim_rollout import TickDelay, rollout
from rlhf_training.export import export_policy
from rlhf_training.models import GaussianPolicy

JOINTS = [f'panda_joint{i}' for i in range(1, 8)] + ['panda_finger_joint1', 'panda_finger_joint2']


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope='module')
def policy_and_contract(tmp_path_factory):
    """A small state-only policy, its contract and its ONNX export (rlhf_training.export, self-checked)."""
    torch.manual_seed(0)
    contract = PolicyContract(ObservationSpec(cameras=[], joint_names=JOINTS), ActionSpec.for_panda(0.05),
                              rate_hz=30.0)
    policy = GaussianPolicy(contract.observation, 8, hidden_dims=(32, 32)).eval()
    folder = tmp_path_factory.mktemp('policy')
    export_policy(policy, contract, folder)
    return policy, PolicyContract.load(folder / 'contract.yaml'), folder


def test_torch_and_onnx_rollouts_agree(policy_and_contract, tmp_path):
    policy, contract, folder = policy_and_contract
    kwargs = {'task': 'pick_place', 'episodes': 2, 'seed': 7, 'max_steps': 15, 'progress': False}
    by_torch = rollout(contract, policy.runner(), **kwargs)
    onnx = OnnxPolicy(folder / 'policy.onnx', contract, provider='cpu')
    by_onnx = rollout(contract, onnx.run, video_dir=tmp_path, video_episodes=1, **kwargs)
    assert [e.seed for e in by_torch] == [7, 8]
    for a, b in zip(by_torch, by_onnx):
        assert a.commands == b.commands == 15   # the loop commands from its first tick (ramping)
        assert a.mean_squared_jerk == pytest.approx(b.mean_squared_jerk, rel=1e-3)
        assert a.mean_action_change == pytest.approx(b.mean_action_change, rel=1e-3, abs=1e-9)
        assert np.isfinite(a.mean_squared_jerk) and a.mean_action_change >= 0
    # The video of the first episode decodes to one frame per control tick plus the final state.
    assert by_onnx[0].video and not by_onnx[1].video
    with av.open(by_onnx[0].video) as container:
        frames = [f.to_ndarray(format='rgb24') for f in container.decode(video=0)]
    assert len(frames) == 16 and frames[0].shape == (240, 320, 3)
    assert frames[0].std() > 5  # a rendered scene, not a blank image


def test_evaluate_offline_cli(policy_and_contract, tmp_path, capsys):
    _, _, folder = policy_and_contract
    out = tmp_path / 'results.json'
    assert evaluate_offline_main(['--contract', str(folder / 'contract.yaml'), '--episodes', '2', '--max-steps', '8',
                                  '--seed', '3', '--out', str(out), '--no-progress']) == 0
    text = capsys.readouterr().out
    assert 'success rate' in text and 'jerk' in text
    results = json.loads(out.read_text())
    assert results['summary']['episodes'] == 2 and results['summary']['seeds'] == [3, 4]
    assert [e['commands'] for e in results['episodes']] == [8, 8]
    assert evaluate_offline_main(['--contract', str(tmp_path / 'nope.yaml')]) == 2
    assert 'nope.yaml' in capsys.readouterr().err


def test_actuation_delay_applies_the_command_computed_ticks_ago():
    late = TickDelay(2)
    assert [late(c, before='pose') for c in (1, 2, 3, 4)] == ['pose', 'pose', 1, 2]
    assert [TickDelay(0)(c, before='pose') for c in (1, 2)] == [1, 2]
    with pytest.raises(ValueError, match='actuation_delay_ticks'):
        TickDelay(-1)


def test_camera_delay_feeds_the_frames_of_ticks_ago():
    """A policy that moves the arm whatever it sees: with a delay of 2 it sees, at tick t, the frame of tick t - 2."""
    contract = PolicyContract(ObservationSpec([CameraSpec('wrist_camera', 16, 16)], JOINTS),
                              ActionSpec.for_panda(0.05), rate_hz=30.0)

    def frames_seen(delay):
        seen = []

        def runner(inputs):
            seen.append(inputs['wrist_camera'].copy())
            return np.full(8, 0.8, np.float32)
        rollout(contract, runner, episodes=1, seed=3, max_steps=8, progress=False, camera_delay_ticks=delay,
                loop_settings={'ramp_duration_s': 0.034})
        return seen

    fresh, late = frames_seen(0), frames_seen(2)
    assert not np.array_equal(fresh[0], fresh[-1])   # the wrist camera moves with the arm
    for t in range(8):
        np.testing.assert_array_equal(late[t], fresh[max(0, t - 2)])


def test_evaluate_offline_with_an_actuation_delay(policy_and_contract, tmp_path, capsys):
    _, _, folder = policy_and_contract
    out = tmp_path / 'results.json'
    args = ['--contract', str(folder / 'contract.yaml'), '--episodes', '1', '--max-steps', '6', '--no-progress']
    assert evaluate_offline_main(args + ['--actuation-delay-ticks', '2', '--out', str(out)]) == 0
    results = json.loads(out.read_text())
    assert results['info']['actuation_delay_ticks'] == 2 and results['episodes'][0]['commands'] == 6
    with pytest.raises(SystemExit):
        evaluate_offline_main(args + ['--actuation-delay-ticks', '-1'])
    assert '--actuation-delay-ticks must be >= 0' in capsys.readouterr().err
