# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""ROS node ``policy``: runs an exported ONNX policy at its contract's rate with a safety layer.

Subscribes ``/<camera>/color`` (and ``/<camera>/depth`` when the contract uses depth) for every camera
the contract names, ``/joint_states``, the contract's ``task_state_topic`` (rlhf_msgs/TaskState) when
it observes ``object_position`` / ``target_position``, and ``/piano/keys`` (rlhf_msgs/PianoKeys) and
``/piano/score`` (rlhf_msgs/PianoScore) when it observes the piano's features. A timer at the contract's rate
(or, with ``tick_on``, every message of that stream) runs one tick of ``rlhf_policy.control_loop.PolicyLoop``
(observations preprocessed on arrival, ONNX Runtime, the action's command, the limiter) and publishes the
command on each of the action's controllers, ``/<controller>/commands`` (the Panda: ``/arm_controller/commands``,
7 targets, and ``/gripper_controller/commands``, 1 opening). Safety (``rlhf_policy.safety``): stale/missing
observations, NaN/inf output or a missing model input -> HOLD (repeat the last safe command);
``/policy/estop`` (std_msgs/Bool true, or std_srvs/Trigger service) -> ESTOP (nothing is commanded)
until the ``/policy/resume`` service; every start and resume ramps from the measured pose.
``/policy/status`` (rlhf_msgs/PolicyStatus) reports rate, jitter, latencies and the safety state.

Parameters: see config/policy.yaml.
"""

import gc
import math
import os
from pathlib import Path
import sys
import time

import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Bool, Float64MultiArray
from std_srvs.srv import Trigger

from rlhf_common import topics
from rlhf_common.node import declare_parameters, run_node
from rlhf_msgs.msg import PianoKeys, PianoScore, PolicyStatus, TaskState
from rlhf_policy.contract import ContractError, PolicyContract
from rlhf_policy.control_loop import LOOP_SETTINGS, PolicyLoop
from rlhf_policy.inference import ModelError, OnnxPolicy
from rlhf_policy.rate_stats import COLUMNS, TickRecorder, summarise
from rlhf_policy.ros_images import color_to_rgb, depth_to_metres
from rlhf_policy.safety import ESTOP, HOLD, RUNNING, STATE_NAMES

PARAMETERS = {
    'contract': '',                    # path to contract.yaml (required); the model path is relative to it
    **LOOP_SETTINGS,                   # the control loop's (rlhf_policy.control_loop), e.g. max_observation_age_ms
    'execution_provider': 'auto',      # auto | cpu | cuda
    'inference_threads': 1,            # ONNX Runtime intra-op threads
    'status_rate_hz': 2.0,             # /policy/status publish rate
    'status_window_s': 5.0,            # statistics window of /policy/status
    'stats_file': '',                  # when set: every tick's timing is written here (CSV) at shutdown
    'inputs_file': '',                 # when set: every tick's model inputs and the header stamps of the messages
                                       # they came from are written here (NPZ) at shutdown (verification runs)
    'realtime_priority': 20,           # > 0: SCHED_FIFO priority of the control thread (needs CAP_SYS_NICE)
    'tick_on': '',                     # a stream the policy observes whose every message runs the control tick,
                                       # instead of the timer ('' = the timer at the contract's rate)
}


class PolicyNode(Node):
    def __init__(self):
        super().__init__('policy')
        p = declare_parameters(self, PARAMETERS)
        if not p['contract']:
            raise ValueError("parameter 'contract': expected the path of a contract.yaml, got ''")
        self.contract = PolicyContract.load(p['contract'])
        contract = self.contract
        self.policy = OnnxPolicy(contract.model_path(p['contract']), contract, p['execution_provider'],
                                 p['inference_threads'])
        self.get_logger().info(f'model {self.policy.model_path.name}: ONNX Runtime on {self.policy.provider}, '
                               f'{contract.rate_hz:g} Hz, inputs {contract.onnx_inputs}')
        problems = [f'model input {n!r} is not provided by the contract' for n in self.policy.missing_inputs]
        if p['realtime_priority'] > 0:
            self._set_realtime(p['realtime_priority'])
        self.period_s = 1.0 / contract.rate_hz
        self.loop = PolicyLoop(contract, self.policy.run,
                               permanent_fault='; '.join(problems + self.policy.shape_errors) or None,
                               **{name: p[name] for name in LOOP_SETTINGS})
        self.assembler = self.loop.assembler
        self.safety = self.loop.safety
        window = max(8, int(round(p['status_window_s'] * contract.rate_hz)))
        self.stats_file = p['stats_file']
        self.inputs_file = p['inputs_file']
        self.inputs_log = []   # (tick time, inputs copy, message stamps, commands published before) per model run
        self.published = 0
        self.ticks = TickRecorder(window, keep_all=bool(self.stats_file))
        self._command_msgs = [(self.create_publisher(Float64MultiArray, topic, 10), Float64MultiArray())
                              for topic, _ in contract.action.command_topics]
        self._last_age_ms = float('nan')

        latest = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
        for name, spec in self.assembler.cameras.items():
            self.create_subscription(Image, topics.camera_topic(name, 'color'), self._color_callback(name), latest)
            if spec.use_depth:
                self.create_subscription(Image, topics.camera_topic(name, 'depth'), self._depth_callback(name), latest)
        self.create_subscription(JointState, topics.JOINT_STATES, self._on_joint_state, latest)
        if contract.observation.uses_task_state:
            self.create_subscription(TaskState, contract.observation.task_state_topic, self._on_task_state, latest)
        if contract.observation.uses_piano_keys:
            self.create_subscription(PianoKeys, topics.PIANO_KEYS, self._on_piano_keys, latest)
        if contract.observation.uses_piano_score:
            self.create_subscription(PianoScore, topics.PIANO_SCORE, self._on_piano_score, latest)
        self.create_subscription(Bool, topics.POLICY_ESTOP, self._on_estop_topic, 10)
        self.create_service(Trigger, topics.POLICY_ESTOP, self._on_estop_service)
        self.create_service(Trigger, topics.POLICY_RESUME, self._on_resume_service)
        self.status_pub = self.create_publisher(PolicyStatus, topics.POLICY_STATUS, 10)
        self._status = PolicyStatus()
        self._status.model = str(self.policy.model_path.name)
        self._status.execution_provider = self.policy.provider
        self._status.target_rate_hz = contract.rate_hz
        self.tick_on = p['tick_on']
        if self.tick_on and self.tick_on not in self.assembler.arrival:
            raise ValueError(f"parameter 'tick_on': expected '' or a stream the policy observes "
                             f'{sorted(self.assembler.arrival)}, got {self.tick_on!r}')
        if not self.tick_on:
            self.create_timer(self.period_s, self._tick)
        self.create_timer(1.0 / p['status_rate_hz'], self._publish_status)
        self._log_transition(None, initial=True)
        # Everything allocated so far (model, buffers, modules) lives for the whole run: move it out of the
        # collector's reach so full collections stay short and do not stall control ticks.
        gc.collect()
        gc.freeze()

    def _set_realtime(self, priority):
        """SCHED_FIFO for this (the executor's) thread: ticks are not preempted by ordinary processes."""
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(int(priority)))
            self.get_logger().info(f'control thread on SCHED_FIFO priority {priority}')
        except (AttributeError, OSError) as err:
            self.get_logger().warning(f'realtime_priority {priority}: cannot use SCHED_FIFO ({err}); '
                                      'running with normal scheduling')

    # --- observations (preprocessed on arrival) ---------------------------------------------------------
    def _arrived(self, stream):
        """An observation of ``stream`` is in: with ``tick_on`` that stream, act on it at once."""
        if stream == self.tick_on:
            self._tick()

    def _color_callback(self, camera):
        topic = topics.camera_topic(camera, 'color')

        def callback(msg):
            try:
                self.assembler.on_color(camera, color_to_rgb(msg), time.monotonic(), _stamp_ns(msg))
            except ValueError as err:
                self.get_logger().error(f'{topic}: {err}', throttle_duration_sec=5.0)
            self._arrived(topic)
        return callback

    def _depth_callback(self, camera):
        topic = topics.camera_topic(camera, 'depth')

        def callback(msg):
            try:
                self.assembler.on_depth(camera, depth_to_metres(msg), time.monotonic(), _stamp_ns(msg))
            except ValueError as err:
                self.get_logger().error(f'{topic}: {err}', throttle_duration_sec=5.0)
            self._arrived(topic)
        return callback

    def _on_joint_state(self, msg):
        self.assembler.on_joint_state(msg.name, msg.position, msg.velocity, time.monotonic(), _stamp_ns(msg))
        self._arrived(topics.JOINT_STATES)

    def _on_task_state(self, msg):
        objects = [(p.position.x, p.position.y, p.position.z) for p in msg.object_poses[:1]]
        t = msg.target_pose.position
        try:
            self.assembler.on_task_state(np.array(objects).reshape(-1, 3), (t.x, t.y, t.z), time.monotonic(),
                                         _stamp_ns(msg))
        except ValueError as err:
            self.get_logger().error(str(err), throttle_duration_sec=5.0)
        self._arrived(self.contract.observation.task_state_topic)

    def _on_piano_keys(self, msg):
        try:
            self.assembler.on_piano_keys(msg.key_positions, msg.sustain_position, time.monotonic(), _stamp_ns(msg))
        except ValueError as err:
            self.get_logger().error(str(err), throttle_duration_sec=5.0)
        self._arrived(topics.PIANO_KEYS)

    def _on_piano_score(self, msg):
        try:
            self.assembler.on_piano_score(msg.goal, msg.fingers, time.monotonic(), _stamp_ns(msg))
        except ValueError as err:
            self.get_logger().error(str(err), throttle_duration_sec=5.0)
        self._arrived(topics.PIANO_SCORE)

    # --- e-stop / resume -----------------------------------------------------------------------------------
    def _on_estop_topic(self, msg):
        if msg.data:
            self._log_transition(self.loop.estop(f'e-stop ({topics.POLICY_ESTOP} topic)'))

    def _on_estop_service(self, request, response):
        self._log_transition(self.loop.estop(f'e-stop ({topics.POLICY_ESTOP} service)'))
        response.success, response.message = True, f'stopped; call {topics.POLICY_RESUME} to continue'
        return response

    def _on_resume_service(self, request, response):
        resumed, transition = self.loop.resume()
        self._log_transition(transition)
        response.success = True
        response.message = 'resumed' if resumed else f'not stopped (state {STATE_NAMES[self.safety.state]})'
        return response

    def _log_transition(self, transition, initial=False, detail=''):
        if initial:
            self.get_logger().info(f'safety state {STATE_NAMES[self.safety.state]}: {self.safety.reason}')
        elif transition is not None:
            text = f'safety {transition.describe()}' + (f' [{detail}]' if detail else '')
            # rclpy requires one severity per logging call site, hence two calls
            if transition.state in (HOLD, ESTOP):
                self.get_logger().warning(text)
            else:
                self.get_logger().info(text)

    # --- control tick ------------------------------------------------------------------------------------
    def _tick(self):
        start = time.monotonic()
        cpu_start = time.thread_time()
        tick = self.loop.tick(start)
        self._log_transition(tick.transition, detail=tick.detail)
        self._last_age_ms = tick.observation_age_ms
        latency_ms = float('nan')
        if self.inputs_file and math.isfinite(tick.inference_ms):
            self.inputs_log.append((start, {k: v.copy() for k, v in self.assembler.model_inputs.items()},
                                    dict(self.assembler.stamps), self.published))
        if tick.command is not None:
            for (pub, msg), (_, values) in zip(self._command_msgs, self.contract.action.split(tick.command)):
                msg.data = values.tolist()
                pub.publish(msg)
            self.published += 1
            latency_ms = (time.monotonic() - start) * 1e3
        self.ticks.record(start, tick.inference_ms, latency_ms, self._last_age_ms, self.period_s,
                          (time.thread_time() - cpu_start) * 1e3)

    def _publish_status(self):
        summary = summarise(self.ticks.window_rows(), self.period_s)
        s = self._status
        s.header.stamp = self.get_clock().now().to_msg()
        s.safety_state = self.safety.state
        s.reason = self.safety.reason if self.safety.state != RUNNING else ''
        s.achieved_rate_hz = _finite(summary.achieved_rate_hz)
        s.jitter_p99_ms = _finite(summary.jitter_p99_ms)
        s.inference_latency_ms = _finite(summary.inference_mean_ms)
        s.inference_latency_p99_ms = _finite(summary.inference_p99_ms)
        s.observation_age_ms = _finite(self._last_age_ms)
        s.ticks = self.ticks.total_ticks
        s.missed_ticks = self.ticks.total_missed
        self.status_pub.publish(s)

    def close(self):
        self.write_stats()
        self.write_inputs()

    def write_inputs(self):
        """Write every model run's inputs and message stamps (parameter inputs_file) as NPZ; no-op when unset.

        Arrays: ``tick_time_s`` (T,), ``<input>`` (T, ...) per model input, ``stamp:<topic>`` (T,) header stamps in
        ns (-1: none), ``published_before`` (T,) commands published before the tick.
        """
        if not self.inputs_file or not self.inputs_log:
            return None
        path = Path(self.inputs_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {'tick_time_s': np.array([t for t, _, _, _ in self.inputs_log]),
                  'published_before': np.array([n for _, _, _, n in self.inputs_log])}
        for name in self.contract.onnx_inputs:
            arrays[name] = np.concatenate([inputs[name] for _, inputs, _, _ in self.inputs_log])
        for topic in self.inputs_log[0][2]:
            arrays[f'stamp:{topic}'] = np.array([-1 if stamps[topic] is None else stamps[topic]
                                                 for _, _, stamps, _ in self.inputs_log])
        np.savez(path, **arrays)
        print(f'[policy] wrote the inputs of {len(self.inputs_log)} ticks to {path}', flush=True)
        return path

    def write_stats(self):
        """Write every tick's timing row as CSV (parameter stats_file); no-op when unset."""
        if not self.stats_file:
            return None
        path = Path(self.stats_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = self.ticks.all_rows()
        np.savetxt(path, rows, delimiter=',', header=','.join(COLUMNS), comments='', fmt='%.9f')
        print(f'[policy] wrote {rows.shape[0]} tick rows to {path}', flush=True)  # the context may be shut down
        return path


def _stamp_ns(msg):
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


def _finite(value):
    return float(value) if math.isfinite(value) else 0.0


def main(args=None):
    return run_node(PolicyNode, args, prog='policy', description=__doc__, parameters=PARAMETERS,
                    bad_input=(ContractError, ModelError, ValueError))


if __name__ == '__main__':
    sys.exit(main())
