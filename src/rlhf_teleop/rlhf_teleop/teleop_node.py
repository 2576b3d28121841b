# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The ``teleop`` node: a device drives the arm through differential IK, and episodes are controlled.

Every control tick (``control_rate``) the device's Cartesian command becomes 7 arm joint position targets
(rlhf_sim.ik.DifferentialIK on the robot model, integrated from the last command so that a resting
device holds the arm still) and 1 gripper target, published on the ros2_control command topics; these
commands are the episode's action stream. Episodes are started, stopped and discarded from device
buttons/keys or the ``/episode/control`` service and announced on ``/episode/events``. In simulation a
START first resets the scene through ``/rlhf_sim/reset`` with the episode's seed.

Unattended mode (``num_episodes`` > 0, usually with ``device: expert``): episodes are started one after
the other, stopped with SUCCESS once the task's success has held for ``success_settle_s`` or FAILURE at
``episode_timeout_s``, and the node exits after the last one. Parameters: config/teleop.yaml.
"""

import getpass
import sys
import time

from geometry_msgs.msg import PoseStamped, Twist
import numpy as np
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import JointState, Joy
from std_msgs.msg import Float64MultiArray

from rlhf_common import topics
from rlhf_common.node import RepeatedCall, declare_parameters, run_node
from rlhf_common.robot import gripper_opening
from rlhf_msgs.msg import EpisodeEvent, RecorderStatus
from rlhf_msgs.msg import TaskState as TaskStateMsg
from rlhf_msgs.srv import EpisodeControl, ResetSim
from rlhf_teleop.devices import (
    DEVICES,
    ButtonMap,
    GamepadLayout,
    GamepadMapper,
    GripperToggle,
    KeyboardMapper,
    PoseTarget,
    SpaceMouseMapper,
)
from rlhf_teleop.episode_manager import (
    DISCARDED,
    FAILURE,
    IDLE,
    RECORDING,
    STARTING,
    SUCCESS,
    EpisodeError,
    EpisodeManager,
)

PARAMETERS = {
    'device': 'spacemouse', 'task': 'pick_place', 'operator_name': '', 'robot': 'franka_panda',
    'sim': True, 'control_rate': 30.0, 'max_linear_speed': 0.15, 'max_angular_speed': 0.6,
    'deadband': 0.1, 'device_timeout_s': 0.5, 'long_press_discard_s': 1.0, 'max_joint_lead': 0.15,
    'num_episodes': 0, 'episode_timeout_s': 30.0, 'success_settle_s': 0.5, 'start_delay_s': 2.0,
    'wait_for_recorder': True, 'recorder_timeout_s': 10.0, 'reset_timeout_s': 15.0, 'expert_noise': 0.0,
    'expert_aim_offset': [0.0, 0.0, 0.0], 'seed': 0, 'scene_count': 0,
    'status_period_s': 5.0,
    'spacemouse.linear_signs': [1.0, 1.0, 1.0], 'spacemouse.angular_signs': [1.0, 1.0, 1.0],
    'gamepad.linear_axes': [1, 0, 4], 'gamepad.linear_signs': [1.0, 1.0, 1.0],
    'gamepad.angular_axes': [6, 7, 3], 'gamepad.angular_signs': [-1.0, 1.0, 1.0],
    'gamepad.gripper_button': 0, 'gamepad.episode_button': 7, 'gamepad.failure_button': 1,
    'gamepad.discard_button': 6,
    'pose.timeout_s': 0.0,
    'topics.joint_states': topics.JOINT_STATES, 'topics.arm_commands': topics.ARM_COMMANDS,
    'topics.gripper_commands': topics.GRIPPER_COMMANDS, 'topics.task_state': topics.TASK_STATE,
    'topics.events': topics.EPISODE_EVENTS, 'topics.recorder_status': topics.RECORDER_STATUS,
    'topics.spacenav_twist': '/spacenav/twist',
    'topics.spacenav_joy': '/spacenav/joy', 'topics.joy': '/joy', 'topics.keyboard_twist': '/keyboard/twist',
    'topics.keyboard_joy': '/keyboard/joy', 'topics.target_pose': '/teleop/target_pose',
    'topics.pose_joy': '/teleop/joy',
    'services.control': topics.EPISODE_CONTROL, 'services.reset': topics.SIM_RESET,
}
EVENT_OF_OUTCOME = {SUCCESS: EpisodeEvent.SUCCESS, FAILURE: EpisodeEvent.FAILURE, DISCARDED: EpisodeEvent.DISCARD}
OUTCOME_OF_REQUEST = {'success': SUCCESS, 'failure': FAILURE, 'discard': DISCARDED}


def pose_to_array(pose) -> np.ndarray:
    """geometry_msgs/Pose -> [x, y, z, qw, qx, qy, qz]."""
    p, o = pose.position, pose.orientation
    return np.array([p.x, p.y, p.z, o.w, o.x, o.y, o.z])


def task_state_from_msg(msg):
    """rlhf_msgs/TaskState -> rlhf_sim.tasks.TaskState (what the scripted expert reads)."""
    from rlhf_sim.tasks import TaskState
    poses = np.array([pose_to_array(p) for p in msg.object_poses]).reshape(-1, 7)
    return TaskState(task=msg.task, object_names=list(msg.object_names), object_poses=poses,
                     target_pose=pose_to_array(msg.target_pose), progress=float(msg.progress),
                     success=bool(msg.success))


class TeleopNode(Node):

    def __init__(self, **kwargs):
        super().__init__('teleop', **kwargs)
        p = self._declare_parameters()
        if p['device'] not in DEVICES:
            raise ValueError(f'parameter device: {p["device"]!r} is not one of {list(DEVICES)}')
        self.p = p
        self.dt = 1.0 / p['control_rate']
        self.unattended = p['num_episodes'] > 0

        # The robot model for IK (kinematics only: no task objects needed).
        from rlhf_common.robot import ARM_JOINT_NAMES, FINGER_JOINT_NAMES, GRIPPER_CLOSED, GRIPPER_OPEN
        from rlhf_sim.ik import DifferentialIK, TargetIntegrator
        from rlhf_sim.robot import build_model
        self.ik = DifferentialIK(build_model())
        self.targets = TargetIntegrator(self.ik, self.dt, p['max_joint_lead'])
        self.arm_names = list(ARM_JOINT_NAMES)
        self.finger_names = list(FINGER_JOINT_NAMES)
        self.gripper = GripperToggle(open_m=GRIPPER_OPEN, closed_m=GRIPPER_CLOSED)

        self.manager = EpisodeManager(p['task'], seed=p['seed'], scene_count=p['scene_count'],
                                      success_settle_s=p['success_settle_s'], episode_timeout_s=p['episode_timeout_s'])
        self.q_meas = None          # measured arm joints (7,)
        self.finger = GRIPPER_OPEN  # measured gripper opening (m per finger)
        self.joint_state_time = -1.0
        self.task_state = None
        self.task_state_time = -1.0
        self.reset_call = None      # starting: the scene reset (rlhf_common.node.RepeatedCall)
        self.reset_deadline = 0.0
        self.reset_done_at = None
        self.holding = False        # starting: the reset pose is held while the recorder gets ready
        self.retry_at = 0.0         # unattended: no new start before this (after a failed reset)
        self.recorder_status = None     # last rlhf_msgs/RecorderStatus and its arrival (monotonic)
        self.recorder_status_time = -1.0
        self.exit_code = 0
        self.completed = 0
        self.done_at = None
        self.finished = False       # unattended collection done: the node exits
        self.started_mono = time.monotonic()
        self.last_status = time.monotonic()
        self._warned = set()

        self.device = self._make_device(p)
        self.arm_pub = self.create_publisher(Float64MultiArray, p['topics.arm_commands'], 10)
        self.gripper_pub = self.create_publisher(Float64MultiArray, p['topics.gripper_commands'], 10)
        self.event_pub = self.create_publisher(EpisodeEvent, p['topics.events'],
                                               QoSProfile(depth=20, reliability=ReliabilityPolicy.RELIABLE))
        self.create_subscription(JointState, p['topics.joint_states'], self._on_joint_state, qos_profile_sensor_data)
        self.create_subscription(TaskStateMsg, p['topics.task_state'], self._on_task_state, qos_profile_sensor_data)
        self.create_subscription(RecorderStatus, p['topics.recorder_status'], self._on_recorder_status,
                                 QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                                            durability=DurabilityPolicy.TRANSIENT_LOCAL))
        self.create_service(EpisodeControl, p['services.control'], self._on_control)
        self.reset_client = self.create_client(ResetSim, p['services.reset']) if p['sim'] else None
        self.timer = self.create_timer(self.dt, self._tick)
        mode = f'unattended, {p["num_episodes"]} episodes' if self.unattended else 'interactive'
        self.get_logger().info(f'teleop: device {p["device"]}, task {p["task"]}, {mode}, '
                               f'{"simulation" if p["sim"] else "real robot"}, commands on {p["topics.arm_commands"]} '
                               f'and {p["topics.gripper_commands"]}')

    def _declare_parameters(self) -> dict:
        values = declare_parameters(self, PARAMETERS)
        if values['control_rate'] <= 0.0:
            raise ValueError(f'parameter control_rate must be > 0, got {values["control_rate"]}')
        if not values['operator_name']:
            values['operator_name'] = 'scripted_expert' if values['device'] == 'expert' else getpass.getuser()
        return values

    # -- devices ------------------------------------------------------------------------------------

    def _make_device(self, p):
        device, now = p['device'], time.monotonic
        speeds = dict(max_linear_speed=p['max_linear_speed'], max_angular_speed=p['max_angular_speed'])
        if device in ('spacemouse', 'keyboard'):
            if device == 'spacemouse':
                mapper = SpaceMouseMapper(deadband=p['deadband'], linear_signs=p['spacemouse.linear_signs'],
                                          angular_signs=p['spacemouse.angular_signs'], timeout_s=p['device_timeout_s'],
                                          buttons=ButtonMap(gripper=0, episode=1,
                                                            long_press_discard_s=p['long_press_discard_s']),
                                          **speeds)
                twist_topic, joy_topic = p['topics.spacenav_twist'], p['topics.spacenav_joy']
            else:
                mapper = KeyboardMapper(timeout_s=p['device_timeout_s'], **speeds)
                twist_topic, joy_topic = p['topics.keyboard_twist'], p['topics.keyboard_joy']
            self.create_subscription(
                Twist, twist_topic,
                lambda m: mapper.on_twist((m.linear.x, m.linear.y, m.linear.z),
                                          (m.angular.x, m.angular.y, m.angular.z), now()),
                qos_profile_sensor_data)
            self.create_subscription(Joy, joy_topic, lambda m: mapper.on_joy(m.axes, m.buttons, now()),
                                     qos_profile_sensor_data)
            return mapper
        if device == 'gamepad':
            layout = GamepadLayout(**{k: (tuple(p['gamepad.' + k]) if isinstance(p['gamepad.' + k], list)
                                          else p['gamepad.' + k])
                                      for k in GamepadLayout.__dataclass_fields__})
            mapper = GamepadMapper(layout, deadband=p['deadband'], timeout_s=p['device_timeout_s'], **speeds)
            self.create_subscription(Joy, p['topics.joy'], lambda m: mapper.on_joy(m.axes, m.buttons, now()),
                                     qos_profile_sensor_data)
            return mapper
        if device == 'pose':
            self.pose_target = PoseTarget(timeout_s=p['pose.timeout_s'])
            self.pose_buttons = GamepadMapper(GamepadLayout(linear_axes=(-1, -1, -1), angular_axes=(-1, -1, -1),
                                                            gripper_button=0, episode_button=1, failure_button=2,
                                                            discard_button=3))
            self.create_subscription(PoseStamped, p['topics.target_pose'], self._on_target_pose,
                                     qos_profile_sensor_data)
            self.create_subscription(Joy, p['topics.pose_joy'],
                                     lambda m: self.pose_buttons.on_joy(m.axes, m.buttons, now()),
                                     qos_profile_sensor_data)
            return self.pose_buttons
        from rlhf_sim.expert import ScriptedExpert
        return ScriptedExpert(p['task'], noise=p['expert_noise'], seed=p['seed'], aim_offset=p['expert_aim_offset'])

    def _on_target_pose(self, msg: PoseStamped):
        o = msg.pose.orientation
        try:
            self.pose_target.update(msg.header.frame_id, (msg.pose.position.x, msg.pose.position.y,
                                                          msg.pose.position.z), (o.w, o.x, o.y, o.z), time.monotonic())
        except ValueError as err:
            self._warn_once('pose', f'{self.p["topics.target_pose"]}: {err}')

    # -- state from the robot -----------------------------------------------------------------------

    def _on_joint_state(self, msg: JointState):
        index = {name: i for i, name in enumerate(msg.name)}
        missing = [n for n in self.arm_names if n not in index]
        if missing or len(msg.position) < len(msg.name):
            self._warn_once('joints', f'{self.p["topics.joint_states"]}: expected positions of {self.arm_names}, '
                                      f'missing {missing or "positions"}')
            return
        self.q_meas = np.array([msg.position[index[n]] for n in self.arm_names])
        fingers = [index[n] for n in self.finger_names if n in index]
        if fingers:
            self.finger = float(gripper_opening(msg.position, fingers))
        self.joint_state_time = time.monotonic()

    def _on_task_state(self, msg: TaskStateMsg):
        self.task_state = msg
        self.task_state_time = time.monotonic()

    def _on_recorder_status(self, msg: RecorderStatus):
        self.recorder_status = msg
        self.recorder_status_time = time.monotonic()

    def _warn_once(self, key, text):
        if key not in self._warned:
            self._warned.add(key)
            self.get_logger().warning(text)

    # -- episodes -----------------------------------------------------------------------------------

    def _publish_event(self, event: int, episode, note=''):
        msg = EpisodeEvent(event=event, episode_id=episode.episode_id, task=self.p['task'],
                           operator_name=self.p['operator_name'], device=self.p['device'],
                           seed=episode.seed if self.p['sim'] else -1, is_sim=bool(self.p['sim']),
                           robot=self.p['robot'], note=note)
        msg.header.stamp = self.get_clock().now().to_msg()
        self.event_pub.publish(msg)

    def request_start(self, seed=None):
        """Reserve the next episode and (in simulation) ask for a scene reset; recording starts when it is done."""
        episode = self.manager.begin(time.time(), seed)
        if self.reset_client is not None:
            if not self.reset_client.service_is_ready():
                self._abort_start(f'service {self.p["services.reset"]} is not available')
                return None
            self.reset_call = RepeatedCall(self.reset_client, ResetSim.Request(task=self.p['task'], seed=episode.seed))
            self.reset_call.poll(time.monotonic())
            self.reset_deadline = time.monotonic() + self.p['reset_timeout_s']
        self.reset_done_at = None if self.reset_client is not None else time.monotonic() - 1.0
        self.holding = False
        return episode

    def _progress_start(self, now):
        """Called every tick while starting: wait for the reset, then for fresh joint (and task) states."""
        if self.reset_call is not None:
            response = self.reset_call.poll(now)
            if response is None:
                if now > self.reset_deadline:
                    self.reset_call.cancel()
                    self.reset_call = None
                    self._abort_start(f'{self.p["services.reset"]} did not answer within {self.p["reset_timeout_s"]} s')
                return
            self.reset_call = None
            if not response.success:
                self._abort_start(f'scene reset failed: {response.message}')
                return
            self.reset_done_at = now
        fresh = self.joint_state_time > self.reset_done_at
        if self.p['device'] == 'expert':
            fresh = fresh and self.task_state_time > self.reset_done_at
        if not fresh:
            return
        if not self.holding:
            self.targets.reset(self.q_meas)
            self.gripper.reset()
            if hasattr(self.device, 'reset'):
                self.device.reset()
            self.holding = True
        # Hold the reset pose: the command streams are recorded too, so they must flow while the recorder
        # checks that every stream does (silent commands would keep it from ever saying ready).
        self._publish_command(np.zeros(6), None, self.gripper.target)
        if not self._recorder_ready(now):
            return
        self.holding = False
        self.last_status = now
        self.get_logger().info(self.manager.start_recording(now))
        self._publish_event(EpisodeEvent.START, self.manager.current)

    def _recorder_ready(self, now):
        """Every stream the recorder records is flowing (a status newer than the scene reset says so).

        After ``recorder_timeout_s`` the start is abandoned naming the silent topics; unattended, the node then
        stops with an error instead of recording episodes with missing streams.
        """
        if not self.p['wait_for_recorder']:
            return True
        status = self.recorder_status
        if status is not None and status.ready and self.recorder_status_time > self.reset_done_at:
            return True
        if now - self.reset_done_at < self.p['recorder_timeout_s']:
            return False
        if status is None:
            reason = f'no recorder status on {self.p["topics.recorder_status"]} (is the recorder running?)'
        else:
            reason = (f'the recorder got no data on {", ".join(status.silent_topics)} for '
                      f'{self.p["recorder_timeout_s"]:g} s (streams must flow before an episode starts)')
        self._abort_start(reason)
        if self.unattended:
            self.exit_code, self.finished = 1, True
        return False

    def _abort_start(self, reason: str):
        self.get_logger().error(self.manager.abort_start(reason))
        self.retry_at = time.monotonic() + 2.0

    def finish(self, outcome: str, note: str = ''):
        """End the recording episode; the event tells the recorder to keep or delete its bag."""
        episode = self.manager.finish(outcome, time.monotonic(), note)
        self._publish_event(EVENT_OF_OUTCOME[outcome], episode, note)
        self.get_logger().info(self.manager.finish_text(episode))
        if outcome != DISCARDED:
            self.completed += 1
        return episode

    def _handle_request(self, request: str):
        action = self.manager.action_for(request)
        if action == 'start':
            self.request_start()
        elif action is not None:
            self.finish(OUTCOME_OF_REQUEST[action], note='from the device')

    def _on_control(self, request, response):
        commands = {EpisodeControl.Request.START: 'start', EpisodeControl.Request.STOP_SUCCESS: 'success',
                    EpisodeControl.Request.STOP_FAILURE: 'failure', EpisodeControl.Request.DISCARD: 'discard'}
        command = commands.get(request.command)
        try:
            if command is None:
                raise EpisodeError(f'unknown command {request.command}; expected 0..3 (START, STOP_SUCCESS, '
                                   'STOP_FAILURE, DISCARD)')
            if command == 'start':
                episode = self.request_start(request.seed if request.seed >= 0 else None)
                if episode is None:
                    raise EpisodeError(f'{self.p["services.reset"]} is not available')
                response.message = (f'episode {episode.episode_id} starting (seed {episode.seed})'
                                    + (': resetting the scene' if self.reset_client is not None else ''))
            else:
                if self.manager.state != RECORDING:
                    raise EpisodeError(f'no episode is recording (state {self.manager.state})')
                episode = self.finish(OUTCOME_OF_REQUEST[command], note=request.note)
                response.message = self.manager.finish_text(episode)
            response.success, response.episode_id = True, episode.episode_id
        except EpisodeError as err:
            response.success, response.message = False, str(err)
        response.episodes_saved = self.manager.saved
        return response

    # -- control loop -------------------------------------------------------------------------------

    def _tick(self):
        now = time.monotonic()
        if self.finished or self.q_meas is None:
            return
        if self.manager.state == STARTING:
            self._progress_start(now)
            return  # no device commands while the scene resets: the simulator puts the arm home
        twist, pose, gripper_target = np.zeros(6), None, self.gripper.target
        if self.p['device'] == 'expert':
            if self.task_state is None:
                self._warn_once('task_state', f'waiting for {self.p["topics.task_state"]} (the expert needs it)')
            elif self.manager.state == RECORDING:
                ee_pos, ee_quat = self.ik.ee_pose(self.q_meas)
                twist, gripper_target = self.device.act(ee_pos, ee_quat, self.finger,
                                                        task_state_from_msg(self.task_state))
        else:
            out = self.device.command(now)
            twist = out.twist
            if out.gripper_toggle:
                gripper_target = self.gripper.toggle()
            for request in out.episode_requests:
                self._handle_request(request)
            if self.p['device'] == 'pose':
                pose = self.pose_target.current(now)
        self._publish_command(twist, pose, gripper_target)
        self._supervise(now)

    def _publish_command(self, twist, pose, gripper_target):
        if pose is not None:
            q_cmd = self.targets.pose(pose[0], pose[1], self.q_meas, self.p['max_linear_speed'],
                                      self.p['max_angular_speed'])
        else:
            q_cmd = self.targets.twist(np.asarray(twist, dtype=float), self.q_meas)
        self.arm_pub.publish(Float64MultiArray(data=[float(v) for v in q_cmd]))
        self.gripper_pub.publish(Float64MultiArray(data=[float(gripper_target)]))

    def _supervise(self, now):
        """Unattended episode loop, success/timeout detection, periodic status."""
        state = self.manager.state
        if state == RECORDING:
            if now - self.last_status >= self.p['status_period_s'] > 0.0:
                self.last_status = now
                self.get_logger().info(self.manager.status_text(now))
        if not self.unattended:
            return
        if state == RECORDING:
            # a success counts once it is in a task state from after the recording began
            fresh_success = (self.task_state is not None and self.task_state.success
                             and self.task_state_time > self.manager.current.started_at)
            ending = self.manager.unattended_outcome(now, fresh_success)
            if ending is not None:
                self.finish(*ending)
        elif state == IDLE:
            if self.completed >= self.p['num_episodes']:
                # Let the last event reach the recorder before exiting.
                self.done_at = self.done_at or now
                if now - self.done_at >= 1.0:
                    self.get_logger().info(f'unattended collection done: {self.manager.counts_text()}')
                    self.finished = True
            elif self._ready_for_unattended(now):
                self.request_start()

    def _ready_for_unattended(self, now):
        if now - self.started_mono < self.p['start_delay_s'] or now < self.retry_at:
            return False
        if self.p['wait_for_recorder'] and self.event_pub.get_subscription_count() == 0:
            self._warn_once('recorder', f'waiting for a subscriber of {self.p["topics.events"]} (the recorder)')
            return False
        if self.reset_client is not None and not self.reset_client.service_is_ready():
            self._warn_once('reset', f'waiting for the service {self.p["services.reset"]}')
            return False
        return self.p['device'] != 'expert' or self.task_state is not None


    def close(self):
        if self.manager.state == RECORDING:
            self.get_logger().warning(f'stopped during {self.manager.current.episode_id}: the recorder keeps it '
                                      'marked incomplete')


def main(args=None):
    return run_node(TeleopNode, args, prog='teleop', description=__doc__, parameters=PARAMETERS)


if __name__ == '__main__':
    sys.exit(main())
