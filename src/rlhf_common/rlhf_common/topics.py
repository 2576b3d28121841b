# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Default topic and service names of the graph (every node's parameters default to these).

The robot side follows ros2_control and mujoco_ros2_control: forward command controllers listen on
``/<controller>/commands``, joint state on ``/joint_states``, cameras on ``/<name>/color|depth|camera_info``.
"""

JOINT_STATES = '/joint_states'
ARM_COMMANDS = '/arm_controller/commands'
GRIPPER_COMMANDS = '/gripper_controller/commands'
TASK_STATE = '/rlhf_sim/task_state'
SIM_RESET = '/rlhf_sim/reset'
EPISODE_EVENTS = '/episode/events'
EPISODE_CONTROL = '/episode/control'
POLICY_STATUS = '/policy/status'
RECORDER_STATUS = '/recorder/status'
POLICY_ESTOP = '/policy/estop'
POLICY_RESUME = '/policy/resume'
PIANO_KEYS = '/piano/keys'      # rlhf_msgs/PianoKeys: keys and pedal as the piano reports them
PIANO_SCORE = '/piano/score'    # rlhf_msgs/PianoScore: what the song asks for next

CAMERA_STREAMS = ('color', 'depth', 'camera_info')


def camera_topic(camera, stream):
    """``/<camera>/<stream>`` for stream color, depth or camera_info."""
    if stream not in CAMERA_STREAMS:
        raise ValueError(f'camera stream {stream!r}: expected one of {CAMERA_STREAMS}')
    return f'/{camera}/{stream}'


def camera_topics(camera):
    """The three topics of one camera: color, depth, camera_info."""
    return [camera_topic(camera, s) for s in CAMERA_STREAMS]
