# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Task success detection on hand-placed objects: true exactly when the goal condition holds."""

import mujoco
import numpy as np
import pytest

from rlhf_sim.ik import DifferentialIK
from rlhf_sim.simulation import Simulation
from rlhf_sim.tasks import CUBE_HALF, PEG_HALF_LENGTH, TASKS, Reach, TaskState


def place(sim, index, xyz, settle_steps=200):
    task = sim.task
    adr = task.free_qpos[index]
    sim.data.qpos[adr:adr + 3] = xyz
    sim.data.qpos[adr + 3:adr + 7] = [1, 0, 0, 0]
    sim.data.qvel[task.free_qvel[index]:task.free_qvel[index] + 6] = 0
    mujoco.mj_forward(sim.model, sim.data)
    sim.step(settle_steps)
    return sim.task_state()


def test_task_names_and_state_fields():
    assert sorted(TASKS) == ['insertion', 'pick_place', 'reach', 'stack']
    fields = set(TaskState.__dataclass_fields__)
    assert {'task', 'object_names', 'object_poses', 'target_pose', 'progress', 'success'} <= fields


def test_pick_place_success_only_inside_the_zone_and_resting():
    sim = Simulation('pick_place')
    sim.reset(seed=0)
    target = sim.task_state().target_pose
    inside = place(sim, 0, [target[0] + 0.01, target[1] - 0.01, CUBE_HALF])
    assert inside.success and inside.progress == 1.0
    outside = place(sim, 0, [target[0] + 0.06, target[1], CUBE_HALF])
    assert not outside.success and outside.progress < 1.0
    lifted = place(sim, 0, [target[0], target[1], CUBE_HALF + 0.05], settle_steps=1)
    assert not lifted.success


def test_stack_success_on_top_not_beside():
    sim = Simulation('stack')
    sim.reset(seed=0)
    base = sim.task_state().object_poses[1, :3]
    on_top = place(sim, 0, [base[0], base[1], base[2] + 2 * CUBE_HALF + 0.001])
    assert on_top.success
    beside = place(sim, 0, [base[0] + 0.06, base[1], CUBE_HALF])
    assert not beside.success


def test_insertion_success_in_the_hole_only():
    sim = Simulation('insertion')
    sim.reset(seed=0)
    socket = sim.task_state().target_pose
    inserted = place(sim, 0, [socket[0], socket[1], PEG_HALF_LENGTH + 0.002])
    assert inserted.success
    # standing on the table next to the socket: right height, wrong place
    beside = place(sim, 0, [socket[0] + 0.1, socket[1], PEG_HALF_LENGTH + 0.002])
    assert not beside.success


def test_reach_success_within_tolerance_of_the_goal():
    sim = Simulation('reach')
    sim.reset(seed=3)
    start = sim.task_state()
    assert not start.success and start.progress < 0.05
    goal = start.target_pose[:3]
    ik = DifferentialIK(sim.model)
    for _ in range(300):   # drive the arm there through IK, then check the task agrees
        q = sim.data.qpos[:7].copy()
        ee, _ = ik.ee_pose(q)
        q_target = ik.twist_to_joint_targets(q, np.concatenate([3.0 * (goal - ee), np.zeros(3)]), 1 / 30)
        sim.set_command(np.concatenate([q_target, [0.04]]))
        sim.step(17)
    reached = sim.task_state()
    assert reached.success and reached.progress == 1.0
    assert np.linalg.norm(ik.ee_pose(sim.data.qpos[:7].copy())[0] - goal) < Reach.TOLERANCE


@pytest.mark.parametrize('task', sorted(TASKS))
def test_progress_is_bounded(task):
    sim = Simulation(task)
    rng = np.random.default_rng(0)
    for seed in range(3):
        sim.reset(seed=seed)
        for _ in range(5):
            sim.set_command(np.concatenate([sim.command[:7] + rng.normal(0, 0.1, 7), [0.02]]))
            sim.step(17)
            assert 0.0 <= sim.task_state().progress <= 1.0
