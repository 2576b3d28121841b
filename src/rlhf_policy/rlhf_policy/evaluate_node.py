# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""ROS node ``evaluate_node``: runs N evaluation episodes of a running policy node in the simulator.

Per episode: e-stop the policy (``/policy/estop``), reset the simulator with the episode's seed
(``/rlhf_sim/reset``), optionally publish EpisodeEvent START (the recorder opens a bag), enable the
policy (``/policy/resume``), watch ``/rlhf_sim/task_state`` until success or ``timeout_s``, stop the
policy and publish SUCCESS/FAILURE. Joint states and commands are collected for the smoothness
metrics. The report (rlhf_policy.evaluation) goes to the JSON file ``output``; the node then exits.
"""

from datetime import datetime, timezone
import math
import sys
import time

import numpy as np
import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from std_srvs.srv import Trigger

from rlhf_msgs.msg import EpisodeEvent, PolicyStatus, TaskState
from rlhf_msgs.srv import ResetSim
from rlhf_policy.evaluation import EpisodeResult, format_table, mean_action_change, mean_squared_jerk, write_report

PARAMETERS = {
    'episodes': 10,            # number of episodes
    'seed': 0,                 # episode i uses scene seed seed + i
    'task': '',                # task for /rlhf_sim/reset; '' keeps the simulator's task
    'timeout_s': 30.0,         # an episode without success after this long is a failure
    'output': 'evaluation.json',
    'record': False,           # publish /episode/events so the recorder keeps each episode as a bag
    'note': '',                # stored with recorded episodes (e.g. the model checkpoint)
    'service_timeout_s': 30.0,
}
ARM_JOINTS = [f'panda_joint{i}' for i in range(1, 8)]


class EvaluateNode(Node):
    def __init__(self):
        super().__init__('evaluate')
        for name, default in PARAMETERS.items():
            self.declare_parameter(name, default)
        self.p = {name: self.get_parameter(name).value for name in PARAMETERS}
        self.estop = self.create_client(Trigger, '/policy/estop')
        self.resume = self.create_client(Trigger, '/policy/resume')
        self.reset = self.create_client(ResetSim, '/rlhf_sim/reset')
        self.events = self.create_publisher(EpisodeEvent, '/episode/events', 10)
        self.create_subscription(TaskState, '/rlhf_sim/task_state', self._on_task_state, 10)
        self.create_subscription(JointState, '/joint_states', self._on_joint_state, 50)
        self.create_subscription(Float64MultiArray, '/arm_controller/commands', self._on_arm, 50)
        self.create_subscription(Float64MultiArray, '/gripper_controller/commands', self._on_gripper, 50)
        self.create_subscription(PolicyStatus, '/policy/status', self._on_status, 10)
        self.task_state = None
        self.task_state_time = 0.0
        self.status = None
        self._joints, self._joint_times, self._commands = [], [], []
        self._gripper = 0.0
        self._arm_index = None
        self.collecting = False

    def _on_task_state(self, msg):
        self.task_state, self.task_state_time = msg, time.monotonic()

    def _on_status(self, msg):
        self.status = msg

    def _on_joint_state(self, msg):
        if not self.collecting:
            return
        if self._arm_index is None:
            if any(n not in msg.name for n in ARM_JOINTS):
                return
            self._arm_index = [list(msg.name).index(n) for n in ARM_JOINTS]
        self._joint_times.append(time.monotonic())
        self._joints.append([msg.position[i] for i in self._arm_index])

    def _on_gripper(self, msg):
        if msg.data:
            self._gripper = msg.data[0]

    def _on_arm(self, msg):
        if self.collecting and len(msg.data) == 7:
            self._commands.append(list(msg.data) + [self._gripper])

    def call(self, client, request, what):
        """Call a service and wait, spinning this node; raises RuntimeError with the service name."""
        timeout = self.p['service_timeout_s']
        if not client.wait_for_service(timeout_sec=timeout):
            raise RuntimeError(f'service {client.srv_name} ({what}) not available after {timeout:.0f} s')
        future = client.call_async(request)
        rclpy.spin_until_future_complete(self, future, timeout_sec=timeout)
        if not future.done():
            raise RuntimeError(f'service {client.srv_name} ({what}) did not answer within {timeout:.0f} s')
        return future.result()

    def spin_for(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            rclpy.spin_once(self, timeout_sec=min(0.05, max(0.0, end - time.monotonic())))

    def publish_event(self, event, episode_id, seed, note=''):
        msg = EpisodeEvent()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.event, msg.episode_id = event, episode_id
        msg.task = self.task_state.task if self.task_state is not None else self.p['task']
        msg.operator_name, msg.device = 'policy_evaluator', 'policy'
        msg.seed, msg.is_sim, msg.robot = int(seed), True, 'franka_panda'
        msg.note = note or self.p['note']
        self.events.publish(msg)

    def run_episode(self, index, seed):
        self.call(self.estop, Trigger.Request(), 'halt the policy')
        request = ResetSim.Request()
        request.task, request.seed = self.p['task'], int(seed)
        reply = self.call(self.reset, request, 'reset the simulator')
        if not reply.success:
            raise RuntimeError(f'/rlhf_sim/reset refused seed {seed}: {reply.message}')
        reset_done = time.monotonic()
        # wait for a task state produced after the reset, so a stale success is not counted
        end = reset_done + self.p['service_timeout_s']
        while self.task_state_time <= reset_done and time.monotonic() < end:
            rclpy.spin_once(self, timeout_sec=0.05)
        stamp = datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S')
        episode_id = f'{stamp}_eval_{index:04d}_seed{reply.seed}'
        if self.p['record']:
            self.publish_event(EpisodeEvent.START, episode_id, reply.seed)
            self.spin_for(0.2)  # let the recorder open the bag before the policy moves
        self.call(self.resume, Trigger.Request(), 'enable the policy')
        # collect from here on (messages queued from before the reset would add a false jump)
        self._joints, self._joint_times, self._commands = [], [], []
        self.collecting = True
        start = time.monotonic()
        success_time = float('nan')
        while time.monotonic() - start < self.p['timeout_s']:
            rclpy.spin_once(self, timeout_sec=0.05)
            if self.task_state is not None and self.task_state_time > start and self.task_state.success:
                success_time = time.monotonic() - start
                break
        duration = time.monotonic() - start
        self.call(self.estop, Trigger.Request(), 'halt the policy')
        self.collecting = False
        success = math.isfinite(success_time)
        if self.p['record']:
            self.publish_event(EpisodeEvent.SUCCESS if success else EpisodeEvent.FAILURE, episode_id, reply.seed)
            self.spin_for(1.0)  # the recorder closes the bag before the next START (or before the graph stops)
        joints = np.array(self._joints).reshape(-1, 7)
        return EpisodeResult(
            index=index, seed=int(reply.seed), success=success, completion_time_s=success_time,
            duration_s=duration, final_progress=float(self.task_state.progress) if self.task_state else float('nan'),
            mean_squared_jerk=mean_squared_jerk(self._joint_times, joints),
            mean_action_change=mean_action_change(self._commands), commands=len(self._commands),
            episode_id=episode_id if self.p['record'] else '')

    def run(self):
        results = []
        n = self.p['episodes']
        for i in range(n):
            seed = self.p['seed'] + i
            result = self.run_episode(i, seed)
            results.append(result)
            outcome = f'success in {result.completion_time_s:.1f} s' if result.success else \
                f'failure (progress {result.final_progress:.2f})'
            self.get_logger().info(f'episode {i + 1}/{n} seed {seed}: {outcome}; '
                                   f'{sum(r.success for r in results)}/{len(results)} successes so far')
        status = self.status
        info = {'task': self.task_state.task if self.task_state else self.p['task'], 'timeout_s': self.p['timeout_s'],
                'first_seed': self.p['seed'], 'note': self.p['note'],
                'policy_model': status.model if status else '',
                'execution_provider': status.execution_provider if status else '',
                'achieved_rate_hz': status.achieved_rate_hz if status else None,
                'missed_ticks': int(status.missed_ticks) if status else None}
        report = write_report(self.p['output'], results, info)
        print(format_table(report), flush=True)
        self.get_logger().info(f'report written to {self.p["output"]}')
        return report


def main(args=None):
    rclpy.init(args=args)
    node = None
    code = 0
    try:
        node = EvaluateNode()
        node.run()
    except (KeyboardInterrupt, ExternalShutdownException):
        code = 130
    except RuntimeError as err:
        print(f'evaluate: {err}', file=sys.stderr, flush=True)
        code = 1
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    sys.exit(code)


if __name__ == '__main__':
    main()
