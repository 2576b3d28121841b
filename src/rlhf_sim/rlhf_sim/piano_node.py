# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The ``piano`` node: RoboPianist's Shadow Hand(s) at a piano behind ros2_control-like topics.

Publishes the hand joints on ``/joint_states`` (sensor_msgs/JointState, position + velocity; after the joints,
the coupled distal joints ``rh_FFJ0`` .. (J1 + J2) and the ``sustain`` pedal the command drives), the keys and
sustain pedal on ``/piano/keys`` (rlhf_msgs/PianoKeys, with the keys the song wants down now), what the song asks
for next on ``/piano/score`` (rlhf_msgs/PianoScore: the goal frames of the next step and the lookahead, the
fingers; what a piano policy observes besides its joints and the keys), a camera
(``/<camera>/color`` rgb8 and ``/<camera>/camera_info``); listens to ``/hand_controller/commands``
(std_msgs/Float64MultiArray: one absolute position target per actuator in ``actuator_names`` order, the
sustain pedal 0..1 last), what a ros2_control forward_command_controller takes; serves ``/rlhf_sim/reset``
(rlhf_msgs/ResetSim: ``task`` empty or the song, ``seed``; the state of the song's start is published at once).
Each control tick (``control_timestep`` of the task) steps the physics with the latest command; before the first
command the hands hold the middle of each actuator's range (action 0). When the song ends the hands stop until
the next reset (or, with ``loop``, the song starts again). Parameters: config/piano.yaml.
"""

import sys
import time

import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Float64MultiArray

from rlhf_common.node import declare_parameters, run_node
from rlhf_msgs.msg import PianoKeys, PianoScore
from rlhf_msgs.srv import ResetSim
from rlhf_sim.cameras import camera_intrinsics
from rlhf_sim.piano import DEFAULT_CAMERA, PianoEnv, PianoTask, PianoTaskError
from rlhf_sim.ros_convert import fill_camera_info, fill_image, stamp_from_ns

PARAMETERS = {
    'song': 'TwinkleTwinkleLittleStar',
    'hands': 'right',
    'n_steps_lookahead': 1,
    'control_timestep': 0.05,
    'seed': 0,
    'loop': False,
    'camera': 'piano_camera',            # topic prefix; 'none' (or '') for no camera
    'model_camera': DEFAULT_CAMERA,
    'camera_width': 320,
    'camera_height': 240,
    'camera_rate': 10.0,
    'joint_states_topic': '/joint_states',
    'command_topic': '/hand_controller/commands',
    'keys_topic': '/piano/keys',
    'score_topic': '/piano/score',
    'reset_service': '/rlhf_sim/reset',
}


class PianoNode(Node):

    def __init__(self, **kwargs):
        super().__init__('piano', **kwargs)
        p = declare_parameters(self, PARAMETERS)
        self.p = p
        task = PianoTask(song=p['song'], hands=p['hands'], n_steps_lookahead=p['n_steps_lookahead'],
                         control_timestep=p['control_timestep'], action_reward_observation=False)
        self.env = PianoEnv(task, seed=p['seed'], render_size=(p['camera_width'], p['camera_height']),
                            camera=p['model_camera'])
        self.env.reset(seed=p['seed'])
        self.command = self.env.to_command(np.zeros(self.env.action_space.shape))
        self.keys = self.env.key_state(first=True)
        self.done = False
        self.camera = p['camera'] if p['camera'] not in ('', 'none') else None
        if self.camera is not None and not p['camera_rate'] > 0:
            raise ValueError(f'parameter camera_rate: must be > 0, got {p["camera_rate"]}')
        self._ticks_per_frame = max(1, round(1.0 / (p['camera_rate'] * task.control_timestep)))
        self._tick = 0

        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.joint_pub = self.create_publisher(JointState, p['joint_states_topic'], reliable)
        self.keys_pub = self.create_publisher(PianoKeys, p['keys_topic'], reliable)
        self.score_pub = self.create_publisher(PianoScore, p['score_topic'], reliable)
        if self.camera is not None:
            self.image_pub = self.create_publisher(Image, f'{self.camera}/color', QoSProfile(depth=5))
            self.info_pub = self.create_publisher(CameraInfo, f'{self.camera}/camera_info', reliable)
        self.create_subscription(Float64MultiArray, p['command_topic'], self._on_command, reliable)
        self.create_service(ResetSim, p['reset_service'], self._on_reset)
        self.create_timer(task.control_timestep, self._tick_once)
        self.get_logger().info(
            f'piano: {p["song"]} ({p["hands"]} hand{"s" if p["hands"] == "both" else ""}), '
            f'{self.env.episode_length} steps of {task.control_timestep:g} s; {len(self.command)} commands on '
            f'{p["command_topic"]} ({", ".join(self.env.actuator_names[:2])}, ..., sustain)')

    def _on_command(self, msg) -> None:
        low, high = self.env.actuator_range
        values = np.asarray(msg.data, dtype=np.float64)
        if values.shape != low.shape or not np.all(np.isfinite(values)):
            self.get_logger().warning(
                f'{self.p["command_topic"]}: expected {low.shape[0]} finite position targets '
                f'({self.env.actuator_names[0]}, ..., sustain), got {values.shape[0]} values; ignored',
                throttle_duration_sec=2.0)
            return
        self.command = np.clip(values, low, high)

    def _on_reset(self, request, response):
        if request.task and request.task != self.p['song']:
            response.success, response.seed = False, -1
            response.message = f'this node plays {self.p["song"]!r}; restart it to play {request.task!r}'
            return response
        seed = self.p['seed'] if request.seed < 0 else int(request.seed)
        self.env.reset(seed=seed)
        self.keys = self.env.key_state(first=True)
        self.command = self.env.to_command(np.zeros(self.env.action_space.shape))
        self.done = False
        self._publish_state(stamp_from_ns(time.time_ns()))   # the song's first frame: a policy can act before it
        response.success, response.seed = True, seed
        response.message = f'reset {self.p["song"]} with seed {seed}'
        self.get_logger().info(response.message)
        return response

    def _tick_once(self) -> None:
        if not self.done:
            _, _, terminated, truncated, self.keys = self.env.step(self.env.from_command(self.command))
            self.done = terminated or truncated
            if self.done and self.p['loop']:
                self.env.reset()
                self.done = False
        stamp = stamp_from_ns(time.time_ns())
        self._publish_state(stamp)
        if self.camera is not None and self._tick % self._ticks_per_frame == 0:
            self._publish_camera(stamp)
        self._tick += 1

    def _publish_state(self, stamp) -> None:
        names, position, velocity = self.env.joint_state_with_coupled()
        joints = JointState()
        joints.header.stamp = stamp
        joints.name = names
        joints.position, joints.velocity = position.tolist(), velocity.tolist()
        self.joint_pub.publish(joints)
        k = self.keys
        msg = PianoKeys()
        msg.header.stamp = stamp
        msg.header.frame_id = 'piano'
        msg.pressed = [bool(v) for v in k['pressed']]
        msg.key_positions = [float(v) for v in k['key_positions']]
        msg.sustain = bool(k['sustain'])
        msg.sustain_position = float(k["sustain_position"])
        msg.goal = [bool(v) for v in k['goal']]
        msg.goal_sustain = bool(k['goal_sustain'])
        msg.song = self.p['song']
        msg.frame = int(k['step'])
        self.keys_pub.publish(msg)
        score = self.env.score()
        msg = PianoScore()
        msg.header.stamp = stamp
        msg.header.frame_id = 'piano'
        msg.song = self.p['song']
        msg.frame, msg.lookahead = score['frame'], score['lookahead']
        msg.goal = [bool(v) for v in score['goal']]
        msg.fingers = [bool(v) for v in score['fingers']]
        self.score_pub.publish(msg)

    def _publish_camera(self, stamp) -> None:
        image = self.env.render()
        frame = f'{self.camera}_optical_frame'
        self.image_pub.publish(fill_image(Image(), image, 'rgb8', stamp, frame))
        k = camera_intrinsics(self.env.physics.model.ptr, self.p['model_camera'], image.shape[1], image.shape[0])
        self.info_pub.publish(fill_camera_info(CameraInfo(), k, image.shape[1], image.shape[0], stamp, frame))

    def close(self) -> None:
        self.env.close()


def main(args=None):
    return run_node(PianoNode, args, prog='piano', description=__doc__, parameters=PARAMETERS,
                    bad_input=(ValueError, PianoTaskError))


if __name__ == '__main__':
    sys.exit(main())
