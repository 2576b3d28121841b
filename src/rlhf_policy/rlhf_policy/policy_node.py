# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""ROS node ``policy``: runs an exported ONNX policy at its contract's rate with a safety layer.

Subscribes ``/<camera>/color`` (and ``/<camera>/depth`` when the contract uses depth) for every camera
the contract names, ``/joint_states``, and the contract's ``task_state_topic`` (rlhf_msgs/TaskState) when
it observes ``object_position`` / ``target_position``. A timer at the contract's rate assembles the latest
observations (preprocessed on arrival with ``rlhf_policy.preprocess``), runs ONNX Runtime, converts the
action with ``ActionSpec.to_command`` (or, for a chunk policy, adds the measured arm joints to the chunk and
lets ``rlhf_policy.chunking.ChunkExecutor`` pick this tick's command: temporal ensembling or receding
horizon; chunks are forgotten whenever the policy is not active), limits it and publishes
``/arm_controller/commands`` (7 targets)
and ``/gripper_controller/commands`` (1 opening). Safety (``rlhf_policy.safety``): stale/missing
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
import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Bool, Float64MultiArray
from std_srvs.srv import Trigger

from rlhf_msgs.msg import PolicyStatus, TaskState
from rlhf_policy.chunking import ChunkExecutor
from rlhf_policy.contract import ContractError, PolicyContract
from rlhf_policy.inference import ModelError, OnnxPolicy
from rlhf_policy.limiter import CommandLimiter
from rlhf_policy.observations import ObservationAssembler
from rlhf_policy.rate_stats import COLUMNS, TickRecorder, summarise
from rlhf_policy.ros_images import color_to_rgb, depth_to_metres
from rlhf_policy.safety import ESTOP, HOLD, RUNNING, STATE_NAMES, SafetyStateMachine

PARAMETERS = {
    'contract': '',                    # path to contract.yaml (required); the model path is relative to it
    'max_observation_age_ms': 200.0,   # older camera/joint data -> HOLD
    'ramp_duration_s': 1.0,            # start-up / resume ramp of the per-tick step limit
    'max_arm_step_rad': 0.0,           # per-tick arm command change limit; 0 = the contract's max_delta_rad
    'max_gripper_step_m': 0.004,       # per-tick gripper command change limit
    'execution_provider': 'auto',      # auto | cpu | cuda
    'inference_threads': 1,            # ONNX Runtime intra-op threads
    'status_rate_hz': 2.0,             # /policy/status publish rate
    'status_window_s': 5.0,            # statistics window of /policy/status
    'start_in_estop': False,           # true: wait for /policy/resume before commanding anything
    'stats_file': '',                  # when set: every tick's timing is written here (CSV) at shutdown
    'realtime_priority': 20,           # > 0: SCHED_FIFO priority of the control thread (needs CAP_SYS_NICE)
}


class PolicyNode(Node):
    def __init__(self):
        super().__init__('policy')
        for name, default in PARAMETERS.items():
            self.declare_parameter(name, default)
        p = {name: self.get_parameter(name).value for name in PARAMETERS}
        if not p['contract']:
            raise ValueError("parameter 'contract': expected the path of a contract.yaml, got ''")
        self.contract = PolicyContract.load(p['contract'])
        contract = self.contract
        self.policy = OnnxPolicy(contract.model_path(p['contract']), contract, p['execution_provider'],
                                 p['inference_threads'])
        self.get_logger().info(f'model {self.policy.model_path.name}: ONNX Runtime on {self.policy.provider}, '
                               f'{contract.rate_hz:g} Hz, inputs {contract.onnx_inputs}')
        problems = [f'model input {n!r} is not provided by the contract' for n in self.policy.missing_inputs]
        self.permanent_fault = '; '.join(problems + self.policy.shape_errors) or None
        if p['realtime_priority'] > 0:
            self._set_realtime(p['realtime_priority'])
        self.max_age_s = p['max_observation_age_ms'] * 1e-3
        self.period_s = 1.0 / contract.rate_hz
        self.assembler = ObservationAssembler(contract)
        act = contract.action
        self.limiter = CommandLimiter(act.joint_lower, act.joint_upper, act.gripper_range,
                                      p['max_arm_step_rad'] or act.max_delta_rad, p['max_gripper_step_m'])
        self.chunks = (ChunkExecutor(contract.chunk, gripper_range=act.gripper_range)
                       if contract.chunk is not None else None)
        self.safety = SafetyStateMachine(max(1, round(p['ramp_duration_s'] * contract.rate_hz)),
                                         start_in_estop=p['start_in_estop'])
        window = max(8, int(round(p['status_window_s'] * contract.rate_hz)))
        self.stats_file = p['stats_file']
        self.ticks = TickRecorder(window, keep_all=bool(self.stats_file))
        self._target = np.zeros(8)
        self._arm_msg = Float64MultiArray()
        self._gripper_msg = Float64MultiArray()
        self._last_age_ms = float('nan')

        latest = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
        for name, spec in self.assembler.cameras.items():
            self.create_subscription(Image, f'/{name}/color', self._color_callback(name), latest)
            if spec.use_depth:
                self.create_subscription(Image, f'/{name}/depth', self._depth_callback(name), latest)
        self.create_subscription(JointState, '/joint_states', self._on_joint_state, latest)
        if contract.observation.uses_task_state:
            self.create_subscription(TaskState, contract.observation.task_state_topic, self._on_task_state, latest)
        self.create_subscription(Bool, '/policy/estop', self._on_estop_topic, 10)
        self.create_service(Trigger, '/policy/estop', self._on_estop_service)
        self.create_service(Trigger, '/policy/resume', self._on_resume_service)
        self.arm_pub = self.create_publisher(Float64MultiArray, '/arm_controller/commands', 10)
        self.gripper_pub = self.create_publisher(Float64MultiArray, '/gripper_controller/commands', 10)
        self.status_pub = self.create_publisher(PolicyStatus, '/policy/status', 10)
        self._status = PolicyStatus()
        self._status.model = str(self.policy.model_path.name)
        self._status.execution_provider = self.policy.provider
        self._status.target_rate_hz = contract.rate_hz
        self.create_timer(self.period_s, self._tick)
        self.create_timer(1.0 / p['status_rate_hz'], self._publish_status)
        self._log_transition(None, initial=True)

    def _set_realtime(self, priority):
        """SCHED_FIFO for this (the executor's) thread: ticks are not preempted by ordinary processes."""
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(int(priority)))
            self.get_logger().info(f'control thread on SCHED_FIFO priority {priority}')
        except (AttributeError, OSError) as err:
            self.get_logger().warning(f'realtime_priority {priority}: cannot use SCHED_FIFO ({err}); '
                                      'running with normal scheduling')

    # --- observations (preprocessed on arrival) ---------------------------------------------------------
    def _color_callback(self, camera):
        def callback(msg):
            try:
                self.assembler.on_color(camera, color_to_rgb(msg), time.monotonic())
            except ValueError as err:
                self.get_logger().error(f'/{camera}/color: {err}', throttle_duration_sec=5.0)
        return callback

    def _depth_callback(self, camera):
        def callback(msg):
            try:
                self.assembler.on_depth(camera, depth_to_metres(msg), time.monotonic())
            except ValueError as err:
                self.get_logger().error(f'/{camera}/depth: {err}', throttle_duration_sec=5.0)
        return callback

    def _on_joint_state(self, msg):
        self.assembler.on_joint_state(msg.name, msg.position, msg.velocity, time.monotonic())

    def _on_task_state(self, msg):
        objects = [(p.position.x, p.position.y, p.position.z) for p in msg.object_poses[:1]]
        t = msg.target_pose.position
        try:
            self.assembler.on_task_state(np.array(objects).reshape(-1, 3), (t.x, t.y, t.z), time.monotonic())
        except ValueError as err:
            self.get_logger().error(str(err), throttle_duration_sec=5.0)

    # --- e-stop / resume -----------------------------------------------------------------------------------
    def _on_estop_topic(self, msg):
        if msg.data:
            self.safety.estop('e-stop (/policy/estop topic)')
            self._log_transition(self.safety.take_pending())

    def _on_estop_service(self, request, response):
        self.safety.estop('e-stop (/policy/estop service)')
        self._log_transition(self.safety.take_pending())
        response.success, response.message = True, 'stopped; call /policy/resume to continue'
        return response

    def _on_resume_service(self, request, response):
        resumed = self.safety.resume()
        self._log_transition(self.safety.take_pending())
        response.success = True
        response.message = 'resumed' if resumed else f'not stopped (state {STATE_NAMES[self.safety.state]})'
        return response

    def _log_transition(self, transition, initial=False, detail=''):
        if transition is not None and transition.state == ESTOP:
            # nothing is commanded until resume, which ramps from the measured pose: so is the previous command
            self.assembler.forget_command()
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
        assembler, safety = self.assembler, self.safety
        fault = self.permanent_fault or assembler.joint_error
        ready = all(t is not None for t in assembler.arrival.values())
        stream, age = assembler.oldest(start)
        self._last_age_ms = age * 1e3 if ready else float('nan')
        detail = ''
        if fault is None and ready and age > self.max_age_s:
            # the reason stays the same while the fault lasts (logged once); the age goes into the log line
            fault = f'{stream} is stale (older than {self.max_age_s * 1e3:.0f} ms)'
            detail = f'{age * 1e3:.0f} ms old'
        action = None
        inference_ms = float('nan')
        chunks = self.chunks
        if fault is None and ready and safety.state != ESTOP and (chunks is None or chunks.needs_chunk()):
            inputs = assembler.assemble()
            t0 = time.monotonic()
            action = self.policy.run(inputs)
            inference_ms = (time.monotonic() - t0) * 1e3
            if not np.all(np.isfinite(action)):
                fault = 'model output contains NaN/inf'
            elif chunks is not None:
                action[:, :7] += assembler.arm_positions   # rows are relative to the observed arm
                chunks.add(action)
        transition = safety.update(ready, fault)
        self._log_transition(transition, detail=detail)
        if ready and ((transition is not None and transition.reset_from_pose)
                      or (safety.commanding and not self.limiter.initialised)):
            self.limiter.reset(assembler.current_command_pose())
        command = None
        if safety.policy_active and chunks is not None:
            command = self.limiter.step(chunks.next(), safety.ramp_scale)
        elif safety.policy_active and action is not None:
            target = self.contract.action.to_command(action, assembler.arm_positions, out=self._target)
            command = self.limiter.step(target, safety.ramp_scale)
        elif safety.state == HOLD and self.limiter.initialised:
            command = self.limiter.last
        if chunks is not None and not safety.policy_active:
            chunks.reset()   # plans made before a hold or an e-stop start from a state that is gone
        latency_ms = float('nan')
        if command is not None:
            self._arm_msg.data = command[:7].tolist()
            self._gripper_msg.data = command[7:].tolist()
            self.arm_pub.publish(self._arm_msg)
            self.gripper_pub.publish(self._gripper_msg)
            self.assembler.on_command(command)
            latency_ms = (time.monotonic() - start) * 1e3
        self.ticks.record(start, inference_ms, latency_ms, self._last_age_ms, self.period_s,
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


def _finite(value):
    return float(value) if math.isfinite(value) else 0.0


def main(args=None):
    rclpy.init(args=args)
    node = None
    try:
        try:
            node = PolicyNode()
        except (ContractError, ModelError, ValueError) as err:
            print(f'policy: {err}', file=sys.stderr)
            rclpy.try_shutdown()
            sys.exit(2)
        # Everything allocated so far (model, buffers, modules) lives for the whole run: move it out of the
        # collector's reach so full collections stay short and do not stall control ticks.
        gc.collect()
        gc.freeze()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except RuntimeError:
        if rclpy.ok():
            raise
        # Ctrl-C shut the context down while the executor built its wait set (rclpy/rclpy#398): a normal stop
    finally:
        if node is not None:
            node.write_stats()
            node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
