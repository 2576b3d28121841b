# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Real nodes over DDS: SpaceMouse driver topics drive the simulated arm; episodes; discards leave nothing.

The SpaceMouse cannot exist here, so the test publishes exactly what the ``spacenav`` driver publishes:
geometry_msgs/Twist on /spacenav/twist and sensor_msgs/Joy (6 axes, 2 buttons) on /spacenav/joy.
"""

from pathlib import Path

from geometry_msgs.msg import PoseStamped, Twist
import numpy as np
from sensor_msgs.msg import JointState, Joy
from std_msgs.msg import Float64MultiArray

from rlhf_common.graph import NodeSpec
from rlhf_common.robot import ARM_JOINT_NAMES
from rlhf_msgs.msg import EpisodeEvent
from rlhf_msgs.srv import EpisodeControl
from rlhf_sim.ik import DifferentialIK
from rlhf_sim.robot import build_model

# The simulator without cameras: these tests are about motion and episodes, and rendering costs CPU.
SIM_PARAMETERS = {'task': 'pick_place', 'cameras': ['none'], 'seed': 3}


def sim_spec(**parameters):
    return NodeSpec('rlhf_sim', 'sim', 'sim', parameters={**SIM_PARAMETERS, **parameters})


def teleop_spec(**parameters):
    return NodeSpec('rlhf_teleop', 'teleop', 'teleop', parameters={'device': 'spacemouse', 'sim': True,
                                                                   'status_period_s': 0.0, **parameters})


class SpaceNavDriver:
    """Publishes what the spacenav driver publishes: Twist and Joy with the same 6 normalised axes."""

    def __init__(self, node):
        self.twist_pub = node.create_publisher(Twist, '/spacenav/twist', 10)
        self.joy_pub = node.create_publisher(Joy, '/spacenav/joy', 10)
        self.axes = [0.0] * 6
        self.buttons = [0, 0]
        self.node = node

    def publish(self):
        twist = Twist()
        twist.linear.x, twist.linear.y, twist.linear.z = self.axes[:3]
        twist.angular.x, twist.angular.y, twist.angular.z = self.axes[3:]
        self.twist_pub.publish(twist)
        joy = Joy(axes=list(self.axes), buttons=list(self.buttons))
        joy.header.stamp = self.node.get_clock().now().to_msg()
        self.joy_pub.publish(joy)


class ArmWatcher:
    """Latest arm joint positions from /joint_states and the end-effector position by forward kinematics."""

    def __init__(self, node):
        self.ik = DifferentialIK(build_model())
        self.q = None
        node.create_subscription(JointState, '/joint_states', self._on_joint_state, 10)

    def _on_joint_state(self, msg):
        index = {name: i for i, name in enumerate(msg.name)}
        self.q = np.array([msg.position[index[n]] for n in ARM_JOINT_NAMES])

    def ee_position(self):
        return self.ik.ee_pose(self.q)[0]


def test_spacenav_twist_moves_the_end_effector_in_x(ros, nodes):
    nodes.start(sim_spec())
    nodes.start(teleop_spec())
    arm = ArmWatcher(ros.node)
    commands = []
    ros.node.create_subscription(Float64MultiArray, '/arm_controller/commands', commands.append, 10)
    driver = SpaceNavDriver(ros.node)
    assert ros.spin_until(lambda: arm.q is not None and commands, timeout=60), nodes.logs()
    assert ros.spin_until(lambda: driver.twist_pub.get_subscription_count() > 0, timeout=30), nodes.logs()
    ros.spin_for(1.0, every=driver.publish)            # device at rest: the arm holds still
    start = arm.ee_position()
    driver.axes = [0.8, 0.0, 0.0, 0.0, 0.0, 0.0]       # push the cap forward: +x
    # however slowly a loaded machine runs the loop, the end effector goes 10 cm forward and nowhere else
    assert ros.spin_until(lambda: (arm.ee_position() - start)[0] > 0.1, timeout=60, every=driver.publish), \
        f'end effector moved {arm.ee_position() - start}\n{nodes.logs()}'
    moved = arm.ee_position() - start
    assert abs(moved[1]) < 0.2 * moved[0] and abs(moved[2]) < 0.2 * moved[0], f'moved {moved}'


def test_device_and_service_episode_control_and_discard_leaves_no_files(ros, nodes, tmp_path):
    data_dir = tmp_path / 'data'
    nodes.start(sim_spec())
    # a long press is 2 s: a loaded machine may delay a button message by a lot without turning a click into one
    nodes.start(teleop_spec(task='pick_place', operator_name='tester', long_press_discard_s=2.0))
    nodes.start(NodeSpec('rlhf_recorder', 'recorder', 'recorder', parameters={
        'data_dir': str(data_dir), 'topics': ['/joint_states', '/arm_controller/commands',
                                              '/gripper_controller/commands', '/rlhf_sim/task_state']}))
    events = []
    ros.node.create_subscription(EpisodeEvent, '/episode/events', events.append, 10)
    control = ros.node.create_client(EpisodeControl, '/episode/control')
    driver = SpaceNavDriver(ros.node)
    arm = ArmWatcher(ros.node)
    assert ros.spin_until(lambda: control.service_is_ready() and arm.q is not None, timeout=60), nodes.logs()
    assert ros.spin_until(lambda: ros.node.count_subscribers('/episode/events') >= 2, timeout=30), nodes.logs()
    assert ros.spin_until(lambda: driver.joy_pub.get_subscription_count() > 0, timeout=30), nodes.logs()
    ros.spin_for(0.3, every=driver.publish)              # buttons released first: a press is an edge

    # Episode 1: started by a right-button click, discarded by holding the right button.
    driver.buttons = [0, 1]
    ros.spin_for(0.2, every=driver.publish)
    driver.buttons = [0, 0]                              # a short click acts on release
    ros.spin_for(0.2, every=driver.publish)
    assert ros.spin_until(lambda: events and events[-1].event == EpisodeEvent.START, timeout=30), nodes.logs()
    first = events[-1]
    assert (first.task, first.operator_name, first.device, first.is_sim) == ('pick_place', 'tester',
                                                                             'spacemouse', True)
    bag_dir = data_dir / 'episodes' / first.episode_id
    assert ros.spin_until(bag_dir.is_dir, timeout=30, every=driver.publish), \
        f'the recorder did not open {bag_dir}\n{nodes.logs()}'
    driver.buttons = [0, 1]
    ros.spin_for(4.0, every=driver.publish)              # held twice as long as long_press_discard_s
    driver.buttons = [0, 0]
    ros.spin_for(0.2, every=driver.publish)
    assert ros.spin_until(lambda: events[-1].event == EpisodeEvent.DISCARD, timeout=10), nodes.logs()
    assert events[-1].episode_id == first.episode_id
    assert ros.spin_until(lambda: not bag_dir.exists(), timeout=10), f'{bag_dir} left behind\n{nodes.logs()}'

    # Episode 2: started and stopped with success through the service; its bag stays.
    future = control.call_async(EpisodeControl.Request(command=EpisodeControl.Request.START, seed=11))
    assert ros.spin_until(future.done, timeout=10) and future.result().success, future.result()
    assert ros.spin_until(lambda: events[-1].event == EpisodeEvent.START, timeout=30), nodes.logs()
    second = events[-1]
    assert second.seed == 11 and second.episode_id != first.episode_id
    ros.spin_for(1.5, every=driver.publish)
    future = control.call_async(EpisodeControl.Request(command=EpisodeControl.Request.STOP_SUCCESS))
    assert ros.spin_until(future.done, timeout=10) and future.result().success
    assert future.result().episodes_saved == 1
    refused = control.call_async(EpisodeControl.Request(command=EpisodeControl.Request.DISCARD))
    assert ros.spin_until(refused.done, timeout=10) and not refused.result().success  # nothing is recording
    kept = data_dir / 'episodes' / second.episode_id
    assert ros.spin_until(lambda: (kept / 'metadata.yaml').is_file(), timeout=15), nodes.logs()
    leftovers = sorted(p.name for p in Path(data_dir, 'episodes').iterdir())
    assert leftovers == [second.episode_id], leftovers


def test_pose_target_moves_the_end_effector_to_the_target(ros, nodes):
    nodes.start(sim_spec())
    nodes.start(teleop_spec(device='pose', max_linear_speed=0.2))
    arm = ArmWatcher(ros.node)
    target_pub = ros.node.create_publisher(PoseStamped, '/teleop/target_pose', 10)
    assert ros.spin_until(lambda: arm.q is not None and target_pub.get_subscription_count() > 0, timeout=60), \
        nodes.logs()
    ros.spin_for(0.5)
    start = arm.ee_position()
    start_quat = arm.ik.ee_pose(arm.q)[1]
    goal = start + np.array([0.0, 0.08, -0.06])
    target = PoseStamped()
    target.header.frame_id = 'world'
    target.pose.position.x, target.pose.position.y, target.pose.position.z = goal
    (target.pose.orientation.w, target.pose.orientation.x, target.pose.orientation.y,
     target.pose.orientation.z) = start_quat
    # a VR controller streams its pose until the end effector is there
    assert ros.spin_until(lambda: np.linalg.norm(arm.ee_position() - goal) < 0.01, timeout=60,
                          every=lambda: target_pub.publish(target)), \
        f'end effector {arm.ee_position()} is not within 1 cm of the target {goal}\n{nodes.logs()}'


def test_gamepad_left_stick_moves_the_end_effector_in_y(ros, nodes):
    """The joy node's Xbox layout: left stick pushed left (axis 0 positive) is +y in the robot base frame."""
    nodes.start(sim_spec())
    nodes.start(teleop_spec(device='gamepad'))
    arm = ArmWatcher(ros.node)
    joy_pub = ros.node.create_publisher(Joy, '/joy', 10)
    assert ros.spin_until(lambda: arm.q is not None and joy_pub.get_subscription_count() > 0, timeout=60), \
        nodes.logs()
    axes = [0.0] * 8
    axes[2] = axes[5] = 1.0                               # triggers at rest read +1 on the joy node
    joy = Joy(axes=axes, buttons=[0] * 11)
    ros.spin_for(0.5, every=lambda: joy_pub.publish(joy))
    start = arm.ee_position()
    joy.axes[0] = 0.9
    assert ros.spin_until(lambda: (arm.ee_position() - start)[1] > 0.1, timeout=60,
                          every=lambda: joy_pub.publish(joy)), f'moved {arm.ee_position() - start}\n{nodes.logs()}'
    moved = arm.ee_position() - start
    assert abs(moved[0]) < 0.2 * moved[1] and abs(moved[2]) < 0.2 * moved[1], f'moved {moved}\n{nodes.logs()}'
