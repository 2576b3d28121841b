# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The ``sim`` node: the MuJoCo Panda behind the interfaces mujoco_ros2_control / ros2_control present.

Publishes /joint_states (position, velocity, effort), ``/<camera>/color`` (rgb8), ``/<camera>/depth``
(32FC1 metres), ``/<camera>/camera_info``, /rlhf_sim/task_state and, with ``publish_clock``, /clock;
listens to forward-command-controller topics (std_msgs/Float64MultiArray: 7 arm joint targets, 1 finger
opening) and serves /rlhf_sim/reset. Physics runs in real time in its own thread; cameras render copies
of the state in another thread, so rendering never holds physics up. Parameters: config/sim.yaml.
"""

import sys
import time

from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Float64MultiArray

from rlhf_common import topics
from rlhf_common.node import declare_parameters, run_node
from rlhf_common.robot import JOINT_NAMES
from rlhf_msgs.msg import TaskState as TaskStateMsg
from rlhf_msgs.srv import ResetSim
from rlhf_sim.cameras import DEFAULT_HEIGHT, DEFAULT_WIDTH, camera_intrinsics
from rlhf_sim.realtime import CameraThread, PeriodicThread, RealtimeSimulation
from rlhf_sim.robot import CAMERA_NAMES
from rlhf_sim.ros_convert import fill_camera_info, fill_image, fill_pose, stamp_from_ns
from rlhf_sim.tasks import TASKS

MAX_IMAGE_SIZE = (1280, 960)   # the scene's offscreen buffer (rlhf_sim.robot)

PARAMETERS = {
    'task': 'pick_place',
    'seed': 0,                       # -1: draw a seed
    'physics_hz': 500.0,
    'joint_state_rate': 100.0,
    'task_state_rate': 30.0,
    'cameras': list(CAMERA_NAMES),   # ['none'] (or ['']) for no cameras
    'camera_width': DEFAULT_WIDTH,
    'camera_height': DEFAULT_HEIGHT,
    'camera_rate': 30.0,
    'render_depth': True,
    'publish_clock': False,
    'arm_command_topic': topics.ARM_COMMANDS,
    'gripper_command_topic': topics.GRIPPER_COMMANDS,
    'joint_states_topic': topics.JOINT_STATES,
    'task_state_topic': topics.TASK_STATE,
    'reset_service': topics.SIM_RESET,
    'status_period_s': 10.0,         # 0: no periodic real-time-factor log line
}


class SimNode(Node):

    def __init__(self, **kwargs):
        super().__init__('sim', **kwargs)
        p = declare_parameters(self, PARAMETERS)
        self.p = p
        if p['task'] not in TASKS:
            raise ValueError(f'parameter task: {p["task"]!r} is not one of {sorted(TASKS)}')
        for name in ('physics_hz', 'joint_state_rate', 'task_state_rate', 'camera_rate'):
            if not p[name] > 0:
                raise ValueError(f'parameter {name}: must be > 0, got {p[name]}')
        self.cameras = [c for c in p['cameras'] if c and c != 'none']
        width_ok = 0 < p['camera_width'] <= MAX_IMAGE_SIZE[0]
        if self.cameras and not (width_ok and 0 < p['camera_height'] <= MAX_IMAGE_SIZE[1]):
            raise ValueError(f'parameters camera_width, camera_height: {p["camera_width"]}x{p["camera_height"]} is '
                             f'outside 1x1 .. {MAX_IMAGE_SIZE[0]}x{MAX_IMAGE_SIZE[1]}')
        seed = None if p['seed'] < 0 else p['seed']
        self.realtime = RealtimeSimulation(p['task'], physics_hz=p['physics_hz'], seed=seed)
        self.realtime.reset(seed=seed)
        model_cameras = [self.realtime.sim.model.camera(i).name for i in range(self.realtime.sim.model.ncam)]
        for cam in self.cameras:
            if cam not in model_cameras:
                raise ValueError(f'parameter cameras: {cam!r} is not a camera of the model ({model_cameras})')

        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.joint_pub = self.create_publisher(JointState, p['joint_states_topic'], reliable)
        self.task_pub = self.create_publisher(TaskStateMsg, p['task_state_topic'], reliable)
        self.clock_pub = self.create_publisher(Clock, '/clock', reliable) if p['publish_clock'] else None
        self.image_pubs = {}
        images = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        for cam in self.cameras:
            self.image_pubs[cam] = (
                self.create_publisher(Image, f'{cam}/color', images),   # relative: follows the node's namespace
                self.create_publisher(Image, f'{cam}/depth', images) if p['render_depth'] else None,
                self.create_publisher(CameraInfo, f'{cam}/camera_info', reliable))
        self.create_subscription(Float64MultiArray, p['arm_command_topic'], self._on_arm_command, reliable)
        self.create_subscription(Float64MultiArray, p['gripper_command_topic'], self._on_gripper_command, reliable)
        self.create_service(ResetSim, p['reset_service'], self._on_reset)
        self.create_timer(1.0 / p['task_state_rate'], self._publish_task_state)
        if p['status_period_s'] > 0:
            self.create_timer(p['status_period_s'], self._log_status)

        self.camera_thread = None
        self._last_camera_counts = (0, 0)
        if self.cameras:   # first: creating the GL context takes a while, and physics should not wait on it
            self.camera_thread = CameraThread(self.realtime, self.cameras, p['camera_width'], p['camera_height'],
                                              p['render_depth'], p['camera_rate'], self._publish_images)
            self.camera_thread.start()
        self.realtime.start()
        # Joint states (and /clock) come from their own thread so that a busy executor cannot thin them out.
        self.state_thread = PeriodicThread(p['joint_state_rate'], self._publish_joint_state, 'joint_states')
        self.state_thread.start()
        self.get_logger().info(
            f'sim: task {p["task"]} (seed {self.realtime.seed}), physics {p["physics_hz"]:g} Hz, joint states '
            f'{p["joint_state_rate"]:g} Hz, cameras {self.cameras or "none"} {p["camera_width"]}x{p["camera_height"]} '
            f'at {p["camera_rate"]:g} Hz, commands on {p["arm_command_topic"]} and {p["gripper_command_topic"]}')

    def _stamp(self, sim_time: float, wall_ns: int):
        """Header stamps: simulated time when this node drives /clock, otherwise the wall clock."""
        return stamp_from_ns(int(round(sim_time * 1e9)) if self.clock_pub is not None else wall_ns)

    # -- publishers ---------------------------------------------------------------------------------
    def _publish_joint_state(self) -> None:
        """Runs in the joint-state thread."""
        try:
            self._publish_joint_state_now()
        except Exception:
            if self.context.ok():
                raise
            # shutting down: the context went away during the publish; the thread is stopping

    def _publish_joint_state_now(self) -> None:
        position, velocity, effort, sim_time = self.realtime.joint_state()
        msg = JointState()
        msg.header.stamp = self._stamp(sim_time, time.time_ns())
        msg.name = list(JOINT_NAMES)
        msg.position, msg.velocity, msg.effort = position.tolist(), velocity.tolist(), effort.tolist()
        self.joint_pub.publish(msg)
        if self.clock_pub is not None:
            self.clock_pub.publish(Clock(clock=stamp_from_ns(int(round(sim_time * 1e9)))))

    def _publish_task_state(self) -> None:
        state = self.realtime.task_state()
        msg = TaskStateMsg()
        msg.header.stamp = self._stamp(self.realtime.sim_elapsed, time.time_ns())
        msg.header.frame_id = 'world'
        msg.task = state.task
        msg.object_names = list(state.object_names)
        msg.object_poses = [fill_pose(pose) for pose in state.object_poses]
        msg.target_pose = fill_pose(state.target_pose)
        msg.progress = float(state.progress)
        msg.success = bool(state.success)
        self.task_pub.publish(msg)

    def _publish_images(self, snap, images) -> None:
        """Runs in the camera thread (rclpy publishers are thread-safe)."""
        try:
            self._publish_camera_messages(snap, images)
        except Exception:
            if self.context.ok():
                raise
            # shutting down: the context went away between two publishes; the camera thread is stopping

    def _publish_camera_messages(self, snap, images) -> None:
        stamp = self._stamp(snap.sim_time, snap.wall_time_ns)
        width, height = self.p['camera_width'], self.p['camera_height']
        for cam, (color_pub, depth_pub, info_pub) in self.image_pubs.items():
            frame = f'{cam}_optical_frame'
            color_pub.publish(fill_image(Image(), images[f'{cam}/color'], 'rgb8', stamp, frame))
            if depth_pub is not None:
                depth_pub.publish(fill_image(Image(), images[f'{cam}/depth'], '32FC1', stamp, frame))
            k = camera_intrinsics(snap.model, cam, width, height)
            info_pub.publish(fill_camera_info(CameraInfo(), k, width, height, stamp, frame))

    def _log_status(self) -> None:
        stats = self.realtime.stats()
        cams = ''
        if self.camera_thread is not None:
            frames, skipped = self.camera_thread.frames, self.camera_thread.skipped
            last_frames, last_skipped = self._last_camera_counts
            self._last_camera_counts = (frames, skipped)
            cams = (f', cameras {(frames - last_frames) / max(stats.wall_s, 1e-9):.1f} frames/s '
                    f'(skipped {skipped - last_skipped})')
        self.get_logger().info(f'real-time factor {stats.real_time_factor:.3f} over {stats.wall_s:.1f} s, '
                               f'dropped physics steps {stats.dropped_steps}{cams}')

    # -- commands and services ------------------------------------------------------------------------
    def _on_arm_command(self, msg) -> None:
        if len(msg.data) != 7:
            self.get_logger().warning(f'{self.p["arm_command_topic"]}: expected 7 joint targets (panda_joint1..7), '
                                      f'got {len(msg.data)} values; ignored', throttle_duration_sec=2.0)
            return
        try:
            self.realtime.set_arm_command(list(msg.data))
        except ValueError as exc:
            self.get_logger().warning(f'{self.p["arm_command_topic"]}: {exc}; ignored', throttle_duration_sec=2.0)

    def _on_gripper_command(self, msg) -> None:
        if len(msg.data) != 1:
            self.get_logger().warning(f'{self.p["gripper_command_topic"]}: expected 1 value (finger opening in m, '
                                      f'0.0 .. 0.04), got {len(msg.data)}; ignored', throttle_duration_sec=2.0)
            return
        try:
            self.realtime.set_gripper_command(float(msg.data[0]))
        except ValueError as exc:
            self.get_logger().warning(f'{self.p["gripper_command_topic"]}: {exc}; ignored', throttle_duration_sec=2.0)

    def _on_reset(self, request, response):
        task = request.task or self.realtime.task_name
        if task not in TASKS:
            response.success = False
            response.message = f'unknown task {request.task!r}; expected one of {sorted(TASKS)}'
            response.seed = -1
            return response
        seed = None if request.seed < 0 else int(request.seed)
        response.seed = self.realtime.reset(task=task, seed=seed)
        response.success = True
        response.message = f'reset {task} with seed {response.seed}'
        self.get_logger().info(response.message)
        return response

    def close(self) -> None:
        """Stop the threads (before destroy_node: they publish through this node)."""
        self.state_thread.stop()
        if self.camera_thread is not None:
            self.camera_thread.stop()
        self.realtime.stop()


def main(args=None):
    return run_node(SimNode, args, prog='sim', description=__doc__, parameters=PARAMETERS)


if __name__ == '__main__':
    sys.exit(main())
