# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The episode state machine of a collection session, without ROS.

States: ``idle`` -> ``starting`` (the simulator resets the scene) -> ``recording`` -> ``idle``.
An episode ends with ``success`` or ``failure`` (kept) or ``discarded`` (thrown away, to be re-recorded).
Every transition returns one line of terminal feedback (episode number, id, elapsed time, outcome,
how many were saved).

Episode ids are ``<UTC start time %Y%m%dT%H%M%S>_<task>_<number:04d>``, e.g.
``20261121T101500_pick_place_0003``; ``number`` counts every attempt of the session (discarded ones
included), so two ids of one session never collide.
"""

from dataclasses import dataclass
import time

IDLE = 'idle'
STARTING = 'starting'
RECORDING = 'recording'
SUCCESS = 'success'
FAILURE = 'failure'
DISCARDED = 'discarded'


class EpisodeError(RuntimeError):
    """A request that does not fit the current state (e.g. stop while idle)."""


@dataclass
class Episode:
    """One attempt: its id, number, scene seed and (once recording) start time."""

    episode_id: str
    number: int
    seed: int
    started_at: float | None = None   # monotonic seconds when recording began
    outcome: str | None = None
    duration_s: float = 0.0
    note: str = ''


def make_episode_id(task: str, number: int, wall_time: float) -> str:
    """``20261121T101500_pick_place_0003`` from a task, an episode number and a Unix time (UTC)."""
    stamp = time.strftime('%Y%m%dT%H%M%S', time.gmtime(wall_time))
    safe_task = ''.join(c if c.isalnum() or c in '-_' else '-' for c in task) or 'task'
    return f'{stamp}_{safe_task}_{number:04d}'


class EpisodeManager:
    """Counts and transitions of one session; times are passed in (monotonic ``now``, Unix ``wall_time``)."""

    def __init__(self, task: str, seed: int = 0, first_number: int = 1, scene_count: int = 0,
                 success_settle_s: float = 0.5, episode_timeout_s: float = 30.0):
        if scene_count < 0:
            raise ValueError(f'scene_count must be >= 0, got {scene_count}')
        self.success_settle_s = float(success_settle_s)   # unattended: success must hold this long
        self.episode_timeout_s = float(episode_timeout_s)  # unattended: a failure after this long
        self._success_since = None
        self.task = task
        self.base_seed = int(seed)
        self.scene_count = int(scene_count)   # 0: every attempt a new scene; N: cycle through N scenes
        self.next_number = int(first_number)
        self.state = IDLE
        self.current: Episode | None = None
        self.last: Episode | None = None
        self.attempts = 0
        self.successes = 0
        self.failures = 0
        self.discarded = 0

    @property
    def saved(self) -> int:
        return self.successes + self.failures

    def counts_text(self) -> str:
        return (f'saved {self.saved} ({self.successes} success, {self.failures} failure), '
                f'discarded {self.discarded}')

    def begin(self, wall_time: float, seed: int | None = None) -> Episode:
        """Reserve the next episode (state ``starting``).

        ``seed`` None or < 0 takes base seed + attempt, or + (attempt mod scene_count) when scenes are cycled.
        """
        if self.state != IDLE:
            raise EpisodeError(f'cannot start: episode {self.current.episode_id} is {self.state}')
        if seed is None or seed < 0:
            seed = self.base_seed + (self.attempts % self.scene_count if self.scene_count else self.attempts)
        number = self.next_number
        self.current = Episode(make_episode_id(self.task, number, wall_time), number, int(seed))
        self.next_number += 1
        self.attempts += 1
        self.state = STARTING
        return self.current

    def abort_start(self, reason: str) -> str:
        """The scene reset failed: back to idle, nothing recorded."""
        if self.state != STARTING:
            raise EpisodeError(f'no episode is starting (state {self.state})')
        episode, self.current, self.state = self.current, None, IDLE
        return f'[episode {episode.number}] not started: {reason}'

    def start_recording(self, now: float) -> str:
        """The scene is ready: recording begins now."""
        if self.state != STARTING:
            raise EpisodeError(f'no episode is starting (state {self.state})')
        self.current.started_at = now
        self._success_since = None
        self.state = RECORDING
        return (f'[episode {self.current.number}] {self.current.episode_id} recording (seed {self.current.seed}); '
                f'{self.counts_text()}')

    def elapsed(self, now: float) -> float:
        """Seconds since recording began (0 when not recording)."""
        if self.state != RECORDING:
            return 0.0
        return now - self.current.started_at

    def finish(self, outcome: str, now: float, note: str = '') -> Episode:
        """End the recording episode with ``success``, ``failure`` or ``discarded``; return it."""
        if outcome not in (SUCCESS, FAILURE, DISCARDED):
            raise ValueError(f'unknown outcome {outcome!r}; expected success, failure or discarded')
        if self.state != RECORDING:
            raise EpisodeError(f'no episode is recording (state {self.state})')
        episode = self.current
        episode.outcome, episode.note = outcome, note
        episode.duration_s = now - episode.started_at
        if outcome == SUCCESS:
            self.successes += 1
        elif outcome == FAILURE:
            self.failures += 1
        else:
            self.discarded += 1
        self.current, self.last, self.state = None, episode, IDLE
        return episode

    def finish_text(self, episode: Episode) -> str:
        """One line of feedback for a finished episode."""
        return (f'[episode {episode.number}] {episode.episode_id} {episode.outcome.upper()} after '
                f'{episode.duration_s:.1f} s; {self.counts_text()}')

    def status_text(self, now: float) -> str:
        """One line for periodic feedback."""
        if self.state == RECORDING:
            return f'[episode {self.current.number}] recording {self.elapsed(now):.1f} s; {self.counts_text()}'
        if self.state == STARTING:
            return f'[episode {self.current.number}] resetting the scene (seed {self.current.seed})'
        return f'idle; {self.counts_text()}'

    def unattended_outcome(self, now: float, task_success: bool) -> tuple[str, str] | None:
        """How an unattended episode ends now, or None.

        (SUCCESS, note) once ``task_success`` (observed after recording began) has held ``success_settle_s``;
        (FAILURE, note) at ``episode_timeout_s``.
        """
        if self.state != RECORDING:
            return None
        if task_success:
            self._success_since = now if self._success_since is None else self._success_since
            if now - self._success_since >= self.success_settle_s:
                return SUCCESS, 'task success held'
        else:
            self._success_since = None
        if self.elapsed(now) >= self.episode_timeout_s:
            return FAILURE, f'timeout after {self.episode_timeout_s:g} s'
        return None

    def action_for(self, request: str) -> str | None:
        """What a device request means now: ``'start'``, ``'success'``, ``'failure'``, ``'discard'`` or None.

        ``toggle`` starts when idle and stops with success when recording; ``failure`` and ``discard``
        only act on a recording episode; nothing acts while the scene resets.
        """
        if request == 'toggle':
            return {IDLE: 'start', RECORDING: 'success'}.get(self.state)
        if request in ('failure', 'discard') and self.state == RECORDING:
            return request
        return None
