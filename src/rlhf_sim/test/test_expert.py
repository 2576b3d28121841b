# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Scripted expert: success rates on seeded episodes of each task (state-only environment)."""

import numpy as np
import pytest

from rlhf_common.robot import GRIPPER_CLOSED, GRIPPER_OPEN
from rlhf_sim.env import ManipulationEnv
from rlhf_sim.expert import ExpertController, ScriptedExpert


def run_episodes(task, seeds, noise=0.0, max_steps=300):
    env = ManipulationEnv(task, cameras=(), max_episode_steps=max_steps)
    controller = ExpertController(env, noise=noise, seed=0)
    outcomes = []
    for seed in seeds:
        obs, info = env.reset(seed=seed)
        controller.reset()
        terminated = truncated = False
        total_reward = 0.0
        while not (terminated or truncated):
            obs, reward, terminated, truncated, info = env.step(controller.action(obs))
            total_reward += reward
        outcomes.append((info['success'], total_reward))
    env.close()
    return outcomes


def test_pick_place_expert_succeeds_without_noise():
    outcomes = run_episodes('pick_place', seeds=range(6))
    assert sum(s for s, _ in outcomes) >= 5, outcomes
    # the dense reward of a success sums progress increments to ~1 plus the success bonus
    for success, total in outcomes:
        if success:
            assert total > 1.5


@pytest.mark.parametrize('task', ['stack', 'insertion', 'reach'])
def test_other_tasks_expert_succeeds(task):
    outcomes = run_episodes(task, seeds=range(3))
    assert sum(s for s, _ in outcomes) >= 2, outcomes


def test_pick_place_expert_mostly_succeeds_with_small_noise():
    outcomes = run_episodes('pick_place', seeds=range(10, 14), noise=0.05)
    assert sum(s for s, _ in outcomes) >= 3, outcomes


def test_aim_offset_makes_a_sloppy_operator_who_stops_off_the_goal():
    env = ManipulationEnv('reach', cameras=(), max_episode_steps=90)
    controller = ExpertController(env, aim_offset=(0.0, 0.0, 0.06))
    obs, info = env.reset(seed=3)
    truncated = False
    while not truncated:
        obs, _, terminated, truncated, info = env.step(controller.action(obs))
        assert not terminated, 'the sloppy operator reached the goal'
    ee = controller.ik.ee_pose(np.asarray(obs['joint_positions'][:7], dtype=float))[0]
    miss = ee - info['task_state'].target_pose[:3]
    np.testing.assert_allclose(miss, [0.0, 0.0, 0.06], atol=0.01)
    env.close()


def test_noise_changes_the_commands():
    env = ManipulationEnv('pick_place', cameras=())
    obs, _ = env.reset(seed=0)
    quiet, noisy = ExpertController(env, noise=0.0, seed=1), ExpertController(env, noise=0.2, seed=1)
    difference = np.abs(quiet.action(obs) - noisy.action(obs))[:7]
    assert difference.max() > 1e-4


def test_expert_closes_gripper_at_the_object_and_releases_it():
    env = ManipulationEnv('pick_place', cameras=())
    controller = ExpertController(env, seed=0)
    obs, _ = env.reset(seed=0)
    controller.reset()
    gripper_commands, phases = [], []
    for _ in range(300):
        action = controller.action(obs)
        gripper_commands.append(action[7])
        phases.append(controller.expert.phase)
        obs, _, terminated, _, _ = env.step(action)
        if terminated:
            break
    assert gripper_commands[0] == GRIPPER_OPEN
    assert GRIPPER_CLOSED in gripper_commands
    assert phases.index('close') < phases.index('carry') < phases.index('release')


def test_unknown_task_and_negative_noise_are_rejected():
    with pytest.raises(ValueError, match='unknown task'):
        ScriptedExpert('juggling')
    with pytest.raises(ValueError, match='noise'):
        ScriptedExpert('pick_place', noise=-1.0)
