# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""A piano policy is a contract policy: the actor SAC trains is the ONNX model the policy node runs on the piano.

Offline, the node's own control loop fed with what the piano node publishes gives the actor's actions on the
training environment's observations; through the graph, the policy node plays the piano node's song to its end
on the real topics.
"""

import numpy as np
import pytest
import torch

from rlhf_sim.piano import PianoTask
from rlhf_training.config import SACConfig
from rlhf_training.envs import PianoContractEnv, make_piano_env, policy_contract_of
from rlhf_training.export import export_policy
from rlhf_training.piano_eval import control_loop_policy, onnx_runner
from rlhf_training.sac import actor_build_info, state_input

SONG = 'CMajorScaleOneHand'
OPEN_LOOP = {'ramp_duration_s': 0.0, 'max_absolute_step_fraction': 1.0}   # the limiter never binds


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """(env, torch actor, contract path) of an untrained actor exported under the piano's contract."""
    from rlhf_training.checkpoint import build_model
    env = make_piano_env(song=SONG)
    contract = policy_contract_of(env)
    torch.manual_seed(0)
    actor = build_model(actor_build_info(SACConfig(hidden_dims=[32]), env.observation_space.shape[0], 20)).eval()
    out = tmp_path_factory.mktemp('piano_policy')
    export_policy(actor, contract, out)
    yield env, actor, out / 'contract.yaml'
    env.close()


def test_the_cpu_preset_observes_the_piano_through_its_contract(exported):
    env, _, path = exported
    contract = policy_contract_of(env)
    assert contract.observation.state_features == ['piano_keys', 'piano_sustain', 'piano_goal', 'piano_fingers']
    assert contract.input_shapes() == {'proprio': (23 + 88 + 1 + 178 + 5,)} and contract.rate_hz == 20.0
    assert contract.action.command_topics == [('/hand_controller/commands', 20)]
    assert contract.metadata['piano']['song'] == SONG
    assert policy_contract_of(make_piano_env(song=SONG, action_reward_observation=True)) is None
    with pytest.raises(ValueError, match='action_reward_observation'):
        PianoContractEnv(PianoTask(song=SONG, action_reward_observation=True))


def test_the_node_loop_on_the_piano_topics_plays_the_actor_sac_trained(exported):
    env, actor, path = exported
    expected = []
    obs, _ = env.reset(seed=0)
    for _ in range(25):
        with torch.no_grad():
            action = actor.deterministic(state_input(torch.as_tensor(obs)[None]))[0].numpy()
        expected.append(action)
        obs, *_ = env.step(action)
    contract, runner = onnx_runner(path)
    policy = control_loop_policy(contract, runner, env, **OPEN_LOOP)
    got = []
    obs, _ = env.reset(seed=0)
    for _ in range(25):
        got.append(policy(obs))
        obs, *_ = env.step(got[-1])
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_the_policy_node_plays_the_piano_node_through_the_graph(exported, tmp_path):
    from rlhf_training.piano_graph import play_through_graph
    env, _, path = exported
    inputs = tmp_path / 'inputs.npz'
    score, info = play_through_graph(path, seed=0, log_dir=tmp_path,
                                     policy_parameters={**OPEN_LOOP, 'inputs_file': str(inputs)})
    assert info['frames_missing'] == 0 and score.frames == env.episode_length
    assert 0.0 <= score.f1 <= 1.0 and info['policy_ticks'] > 0
    # the policy ran on the song's score as published: every input's goal and fingers are a frame of the song
    contract = policy_contract_of(env)
    goal = slice(23 + 88 + 1, 23 + 88 + 1 + 178)
    song = {}
    env.reset(seed=0)
    done = False
    while not done:
        s = env.score()
        song.setdefault(s['frame'], np.r_[s['goal'], s['fingers']].astype(np.float32))
        *_, terminated, truncated, _ = env.step(np.zeros(20))
        done = terminated or truncated
    rows = np.load(inputs)['proprio']
    assert rows.shape[1] == contract.observation.proprio_dim and len(rows) > 10
    matched = []
    for row in rows:
        frames = [f for f, v in song.items() if np.array_equal(v, row[goal.start:])]
        assert frames, 'a policy input holds a goal that no frame of the song has'
        matched.append(frames)
    assert len({f for frames in matched for f in frames}) > 10   # the score moved on under the policy
    keys = rows[:, 23:23 + 88]
    assert keys.min() >= 0.0 and keys.max() <= 1.0
