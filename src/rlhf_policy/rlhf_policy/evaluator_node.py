# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""ROS node ``evaluator``: runs N evaluation episodes of a running policy node in the simulator.

Per episode: e-stop the policy (``/policy/estop``), reset the simulator with the episode's seed
(``/rlhf_sim/reset``), with ``record`` wait for the recorder to report every stream flowing and publish
EpisodeEvent START (the recorder opens a bag), enable the policy (``/policy/resume``), watch
``/rlhf_sim/task_state`` until success or ``timeout_s``, stop the policy and publish SUCCESS/FAILURE. Joint states
and the commands of the contract's controllers are collected for the smoothness metrics. The report
(``rlhf_policy.episode_metrics``, the same rows as an offline ``rlhf_policy.sim_rollout``) goes to the JSON file
``output``; the node then exits.
"""

from datetime import datetime, timezone
import math
import sys
import time

import numpy as np
import rclpy
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from std_srvs.srv import Trigger

from rlhf_common import topics
from rlhf_common.node import EXIT_FAILED, EXIT_OK, call_service, check_stop, declare_parameters, run_node
from rlhf_msgs.msg import EpisodeEvent, PolicyStatus, RecorderStatus, TaskState
from rlhf_msgs.srv import ResetSim
from rlhf_policy.contract import ContractError, PolicyContract
from rlhf_policy.episode_metrics import EpisodeResult, format_table, mean_action_change, mean_squared_jerk, write_report
from rlhf_policy.sim_rollout import smoothness_joints

PARAMETERS = {
    'contract': '',            # the policy's contract.yaml: its controllers' commands and joints are measured
    'episodes': 10,            # number of episodes
    'seed': 0,                 # episode i uses scene seed seed + i
    'task': '',                # task for /rlhf_sim/reset; '' keeps the simulator's task
    'timeout_s': 30.0,         # an episode without success after this long is a failure
    'output': 'evaluation.json',
    'record': False,           # publish /episode/events so the recorder keeps each episode as a bag
    'note': '',                # stored with recorded episodes (e.g. the model checkpoint)
    'service_timeout_s': 30.0,
    'recorder_timeout_s': 10.0,  # with record: the recorder must report every stream flowing within this long
}


class EvaluatorNode(Node):
    def __init__(self):
        super().__init__('evaluate')
        self.p = declare_parameters(self, PARAMETERS)
        if not self.p['contract']:
            raise ValueError("parameter 'contract': expected the path of the evaluated policy's contract.yaml")
        action = PolicyContract.load(self.p['contract']).action
        self.smooth_joints = smoothness_joints(action)
        self.estop = self.create_client(Trigger, topics.POLICY_ESTOP)
        self.resume = self.create_client(Trigger, topics.POLICY_RESUME)
        self.reset = self.create_client(ResetSim, topics.SIM_RESET)
        self.events = self.create_publisher(EpisodeEvent, topics.EPISODE_EVENTS, 10)
        self.create_subscription(TaskState, topics.TASK_STATE, self._on_task_state, 10)
        self.create_subscription(JointState, topics.JOINT_STATES, self._on_joint_state, 50)
        # a command row per message of the first controller, with the latest values of the others
        self._latest = [np.zeros(size) for _, size in action.command_topics]
        for group, (topic, _) in enumerate(action.command_topics):
            self.create_subscription(Float64MultiArray, topic, self._command_callback(group), 50)
        self.create_subscription(PolicyStatus, topics.POLICY_STATUS, self._on_status, 10)
        self.create_subscription(RecorderStatus, topics.RECORDER_STATUS, self._on_recorder_status,
                                 QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                                            durability=DurabilityPolicy.TRANSIENT_LOCAL))
        self.task_state = None
        self.task_state_time = 0.0
        self.recorder_status = None
        self.recorder_status_time = 0.0
        self.status = None
        self._joints, self._joint_times, self._commands = [], [], []
        self._joint_index = None
        self.collecting = False

    def _on_task_state(self, msg):
        self.task_state, self.task_state_time = msg, time.monotonic()

    def _on_status(self, msg):
        self.status = msg

    def _on_recorder_status(self, msg):
        self.recorder_status, self.recorder_status_time = msg, time.monotonic()

    def wait_for_recorder(self, since):
        """Wait until the recorder reports every stream flowing (a status newer than ``since``)."""
        timeout = self.p['recorder_timeout_s']
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            status = self.recorder_status
            if status is not None and status.ready and self.recorder_status_time > since:
                return
            self.spin_once()
        if self.recorder_status is None:
            raise RuntimeError(f'no recorder status on {topics.RECORDER_STATUS} within {timeout:g} s '
                               '(is the recorder running?)')
        raise RuntimeError(f'the recorder got no data on {", ".join(self.recorder_status.silent_topics)} for '
                           f'{timeout:g} s; an episode starts only when every recorded stream is flowing')

    def _on_joint_state(self, msg):
        if not self.collecting:
            return
        if self._joint_index is None:
            if any(n not in msg.name for n in self.smooth_joints):
                return
            self._joint_index = [list(msg.name).index(n) for n in self.smooth_joints]
        self._joint_times.append(time.monotonic())
        self._joints.append([msg.position[i] for i in self._joint_index])

    def _command_callback(self, group):
        def callback(msg):
            if len(msg.data) != self._latest[group].shape[0]:
                return
            self._latest[group][:] = msg.data
            if self.collecting and group == 0:
                self._commands.append(np.concatenate(self._latest))
        return callback

    def call(self, client, request, what):
        """Call a service (requests that may be repeated), spinning this node; RuntimeError names the service."""
        timeout = self.p['service_timeout_s']
        response = call_service(client, request, self.spin_once, timeout)
        if response is None:
            state = 'did not answer' if client.service_is_ready() else 'not available'
            raise RuntimeError(f'service {client.srv_name} ({what}) {state} within {timeout:.0f} s')
        return response

    def spin_once(self, timeout_sec=0.05):
        """Handle callbacks for up to ``timeout_sec``; stop the job when Ctrl-C / SIGTERM arrived."""
        check_stop(self)
        rclpy.spin_once(self, timeout_sec=timeout_sec)

    def spin_for(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.spin_once(timeout_sec=min(0.05, max(0.0, end - time.monotonic())))

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
            self.spin_once()
        stamp = datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S')
        episode_id = f'{stamp}_eval_{index:04d}_seed{reply.seed}'
        if self.p['record']:
            self.wait_for_recorder(since=reset_done)
            self.publish_event(EpisodeEvent.START, episode_id, reply.seed)
            self.spin_for(0.2)  # let the recorder open the bag before the policy moves
        self.call(self.resume, Trigger.Request(), 'enable the policy')
        # collect from here on (messages queued from before the reset would add a false jump)
        self._joints, self._joint_times, self._commands = [], [], []
        self.collecting = True
        start = time.monotonic()
        success_time = float('nan')
        while time.monotonic() - start < self.p['timeout_s']:
            self.spin_once()
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
        joints = np.array(self._joints).reshape(-1, len(self.smooth_joints))
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


def _evaluate(node):
    try:
        node.run()
    except RuntimeError as err:
        print(f'evaluate: {err}', file=sys.stderr, flush=True)
        return EXIT_FAILED
    return EXIT_OK


def main(args=None):
    return run_node(EvaluatorNode, args, prog='evaluator', description=__doc__, parameters=PARAMETERS,
                    work=_evaluate, bad_input=(ContractError, ValueError))


if __name__ == '__main__':
    sys.exit(main())
