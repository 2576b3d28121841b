# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Forward kinematics for derived state features (``end_effector_position``).

The Panda model and its tool centre point come from ``rlhf_sim`` (the simulator's MJCF, the same site the
scripted expert and the IK use); it is compiled once per process on first use. A real robot with the same
arm gives the same positions from its measured joints.
"""

import numpy as np

from rlhf_common.robot import ARM_JOINT_NAMES

_KINEMATICS = []


def _ik():
    if not _KINEMATICS:
        from rlhf_sim.ik import DifferentialIK
        from rlhf_sim.robot import build_model
        _KINEMATICS.append(DifferentialIK(build_model()))
    return _KINEMATICS[0]


def arm_indices(joint_names):
    """Indices of the Panda arm joints (panda_joint1..7) in ``joint_names``."""
    return np.array([list(joint_names).index(n) for n in ARM_JOINT_NAMES])


def end_effector_positions(arm_positions):
    """(7,) or (T, 7) arm joint positions -> (3,) or (T, 3) tool centre point positions (float64, world frame)."""
    q = np.asarray(arm_positions, dtype=np.float64)
    ik = _ik()
    if q.ndim == 1:
        return ik.ee_pose(q)[0]
    return np.stack([ik.ee_pose(row)[0] for row in q]) if len(q) else np.zeros((0, 3))
