# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""What a policy does on one control tick, without ROS: the policy node and offline rollouts both run this.

``PolicyLoop.tick(now)``: decide whether the policy may drive the robot (every needed stream arrived and none is
older than ``max_age_s``; no permanent fault; not e-stopped), run the model on the assembled observation, turn its
action into a command (``ActionSpec.to_command`` from the measured pose), pass it through the limiter (ramped after
start-up, resume and holds), or repeat the last safe command while holding. The result says what to publish and
what changed, for the caller to publish and log.

A chunk policy (the contract's ``chunk``) answers with ``horizon`` commands; the loop adds the measured command to
their delta groups and lets ``rlhf_policy.chunking.ChunkExecutor`` choose this tick's command (temporal ensembling:
the model runs every tick; receding horizon: every ``replan_every`` ticks). That command goes through the same
limiter; the chunks are forgotten whenever the policy is not driving (hold, e-stop), so it re-plans from the
measured pose.
"""

from dataclasses import dataclass
import math
import time

import numpy as np

from rlhf_policy.chunking import ChunkExecutor
from rlhf_policy.limiter import CommandLimiter
from rlhf_policy.observations import ObservationAssembler
from rlhf_policy.safety import ESTOP, HOLD, SafetyStateMachine

# Settings of the loop with their defaults (the policy node's parameters of the same names, config/policy.yaml).
LOOP_SETTINGS = {
    'max_observation_age_ms': 200.0,   # an observation older than this -> HOLD
    'ramp_duration_s': -1.0,           # start-up / resume ramp of the per-tick step limit; < 0: auto (below)
    'max_delta_step': 0.0,             # per-tick change limit of delta commands; 0 = the contract's max_delta
    'max_absolute_step_fraction': 0.1,  # per-tick change limit of absolute commands, as a fraction of their range
    'start_in_estop': False,           # true: command nothing until resume
}


def ramp_ticks(ramp_duration_s, contract):
    """Control ticks of the start-up ramp; a negative duration means 1 s, or one tick for a chunk policy.

    A chunk policy plans from the measured pose every tick and the limiter still bounds each tick's change, while a
    slow start makes the arm lag every chunk it starts, which no demonstration showed: a 1 s ramp halved the
    success of a pick_place chunk policy (0.90 -> 0.37, rlhf_training README).
    """
    if ramp_duration_s < 0:
        ramp_duration_s = 1.0 if contract.chunk is None else 0.0
    return max(1, round(ramp_duration_s * contract.rate_hz))


@dataclass
class Tick:
    """The outcome of one control tick."""

    command: np.ndarray = None    # (C,) to publish, or None (nothing is commanded this tick)
    transition: object = None     # safety.Transition when the state or its reason changed
    detail: str = ''              # extra text for the transition's log line (e.g. how old a stale stream is)
    inference_ms: float = math.nan
    observation_age_ms: float = math.nan


class PolicyLoop:
    """The decision of every control tick: staleness, safety state, inference, command, limiter."""

    def __init__(self, contract, runner, permanent_fault=None, clock=time.monotonic, **settings):
        """A loop around ``runner(inputs) -> action`` (``OnnxPolicy.run``, or a torch policy in training).

        ``settings``: names of ``LOOP_SETTINGS`` (the rest keep their defaults).
        """
        unknown = sorted(set(settings) - set(LOOP_SETTINGS))
        if unknown:
            raise ValueError(f'PolicyLoop: unknown settings {unknown} (known: {sorted(LOOP_SETTINGS)})')
        s = {**LOOP_SETTINGS, **settings}
        self.contract = contract
        self.runner = runner
        self.max_age_s = float(s['max_observation_age_ms']) * 1e-3
        self.permanent_fault = permanent_fault
        self.clock = clock
        self.assembler = ObservationAssembler(contract)
        self.limiter = CommandLimiter.for_action(contract.action, s['max_delta_step'], s['max_absolute_step_fraction'])
        self.safety = SafetyStateMachine(ramp_ticks(s['ramp_duration_s'], contract), start_in_estop=s['start_in_estop'])
        self._target = np.zeros(contract.action.command_dim)
        self.chunks = None if contract.chunk is None else ChunkExecutor.for_action(contract.chunk, contract.action)
        self._delta = contract.action.group_of('delta')

    def estop(self, reason):
        """Halt until ``resume``; returns the transition (None when already halted)."""
        self.safety.estop(reason)
        return self._after_external(self.safety.take_pending())

    def resume(self):
        """Leave the e-stop; (resumed?, transition).

        The policy starts again once every stream has delivered a message after the resume, then ramps from the
        measured pose: what arrived before may show a world that is gone (a simulator reset, an operator moving the
        object during the stop), and a chunk planned from it would steer the first second of the episode.
        """
        resumed = self.safety.resume()
        if resumed:
            self.assembler.forget_arrivals()
        return resumed, self._after_external(self.safety.take_pending())

    def _after_external(self, transition):
        if transition is not None and transition.state == ESTOP:
            # nothing is commanded until resume, which ramps from the measured pose: so is the previous command,
            # and a chunk planned before the stop is not played after it (even with no tick in between)
            self.assembler.forget_command()
            if self.chunks is not None:
                self.chunks.reset()
        return transition

    def _fault(self, now):
        """(fault or None, detail, observation age in ms)."""
        assembler = self.assembler
        fault = self.permanent_fault or assembler.joint_error
        if not assembler.ready:
            return fault, '', math.nan
        stream, age = assembler.oldest(now)
        if fault is None and age > self.max_age_s:
            # the reason stays the same while the fault lasts (logged once); the age goes into the detail
            return f'{stream} is stale (older than {self.max_age_s * 1e3:.0f} ms)', f'{age * 1e3:.1f} ms old', age * 1e3
        return fault, '', age * 1e3

    def tick(self, now):
        """Decide and compute this tick's command (``now``: the clock the observations' arrivals use)."""
        assembler, safety = self.assembler, self.safety
        fault, detail, age_ms = self._fault(now)
        ready = assembler.ready
        result = Tick(detail=detail, observation_age_ms=age_ms)
        action = None
        chunks = self.chunks
        driving = fault is None and ready and safety.state != ESTOP
        run_model = driving and (chunks is None or chunks.needs_chunk())
        if run_model or (driving and assembler.history is not None):
            # with observation history, every driving tick appends its frame, even while a chunk plays out
            inputs = assembler.assemble()
        if run_model:
            start = self.clock()
            action = self.runner(inputs)
            result.inference_ms = (self.clock() - start) * 1e3
            if not np.all(np.isfinite(action)):
                fault = 'model output contains NaN/inf'
            elif chunks is not None:
                chunk = np.array(action, dtype=np.float64).reshape(self.contract.output_shape)
                chunk[:, self._delta] += assembler.measured_command[self._delta]
                np.clip(chunk, self.contract.action.lower, self.contract.action.upper, out=chunk)
                chunks.add(chunk)
        result.transition = transition = safety.update(ready, fault)
        if ready and ((transition is not None and transition.reset_from_pose)
                      or (safety.commanding and not self.limiter.initialised)):
            self.limiter.reset(assembler.measured_command)
        if safety.policy_active and chunks is not None:
            result.command = self.limiter.step(chunks.next(), safety.ramp_scale)
        elif safety.policy_active and action is not None:
            target = self.contract.action.to_command(action, assembler.measured_command, out=self._target)
            result.command = self.limiter.step(target, safety.ramp_scale)
        elif safety.state == HOLD and self.limiter.initialised:
            result.command = self.limiter.last
        if chunks is not None and not safety.policy_active:
            chunks.reset()   # plans made before a hold or an e-stop start from a state that is gone
        if result.command is not None:
            assembler.on_command(result.command)
        return result
