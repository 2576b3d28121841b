# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The robot the workspace drives, as its ROS interface names it: the Franka Emika Panda with its gripper.

One definition of the joint names (as ``/joint_states`` and the ros2_control controllers name them), the arm's
joint limits, the gripper's range, the command layout and the gripper opening read from measured joints.
The simulator (``rlhf_sim``), teleop, the recorder's reader, training and the policy contract all use these.
"""

import numpy as np

ARM_JOINT_NAMES = tuple(f'panda_joint{i}' for i in range(1, 8))
FINGER_JOINT_NAMES = ('panda_finger_joint1', 'panda_finger_joint2')
JOINT_NAMES = ARM_JOINT_NAMES + FINGER_JOINT_NAMES

# Arm joint limits (rad), from the manufacturer's datasheet.
ARM_JOINT_LOWER = (-2.8973, -1.7628, -2.8973, -3.0718, -2.8973, -0.0175, -2.8973)
ARM_JOINT_UPPER = (2.8973, 1.7628, 2.8973, -0.0698, 2.8973, 3.7525, 2.8973)

# Gripper command and measurement: opening of each finger in metres (both fingers move together).
GRIPPER_CLOSED = 0.0
GRIPPER_OPEN = 0.04

# A command is the 7 arm joint targets followed by the gripper opening target (what teleop and the policy
# publish on the two command topics, and what an episode's action stream holds).
ARM_DOF = len(ARM_JOINT_NAMES)
COMMAND_DIM = ARM_DOF + 1


def gripper_opening(positions, finger_indices):
    """Measured gripper opening (m per finger): the mean of the finger joints, (..., J) -> (...).

    (The policy's action space measures its coupled gripper group the same way: ``rlhf_policy.actions``.)
    """
    return np.mean(np.take(np.asarray(positions, dtype=np.float64), finger_indices, axis=-1), axis=-1)
