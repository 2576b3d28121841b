# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Real-time stepping of the simulation core in its own thread, and a camera thread that renders snapshots.

The physics thread keeps simulated time locked to the wall clock at ``physics_hz``: when it wakes up late
it catches up with a batch of steps, and only a backlog longer than ``max_lag_s`` is dropped (that is what
lowers the real-time factor). Everything else (publishers, rendering, task evaluation) reads copies made
under a short lock, so neither ROS callbacks nor rendering can stall physics for longer than a copy.
"""

from dataclasses import dataclass
import threading
import time

import mujoco
import numpy as np

from rlhf_sim.cameras import CameraRenderer
from rlhf_sim.simulation import Simulation
from rlhf_sim.tasks import TaskState


@dataclass
class Snapshot:
    """A consistent copy of the simulation state at one instant."""

    model: mujoco.MjModel
    qpos: np.ndarray
    mocap_pos: np.ndarray
    mocap_quat: np.ndarray
    sim_time: float        # simulated seconds since the node started (continues across resets)
    wall_time_ns: int      # wall clock (time.time_ns) when the copy was made


@dataclass
class RealtimeStats:
    wall_s: float
    sim_s: float
    steps: int
    dropped_steps: int
    real_time_factor: float


class RealtimeSimulation:
    """Owns a Simulation and steps it in real time in a background thread."""

    def __init__(self, task: str = 'pick_place', physics_hz: float = 500.0, seed=None, max_lag_s: float = 0.25):
        self.physics_hz = float(physics_hz)
        self.sim = Simulation(task, physics_hz=physics_hz, seed=seed)
        self.lock = threading.Lock()
        self.max_lag_steps = max(1, int(max_lag_s * self.physics_hz))
        self.sim_elapsed = 0.0          # monotonic simulated time, not reset by episode resets
        self.steps = 0
        self.dropped_steps = 0
        self.model_generation = 0       # bumped when a reset switches task (new model)
        self._stop = threading.Event()
        self._thread = None
        self._stats_mark = (time.perf_counter(), 0.0)

    # -- thread ----------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._stats_mark = (time.perf_counter(), self.sim_elapsed)
        self._thread = threading.Thread(target=self._run, name='physics', daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    def _run(self) -> None:
        rate = self.physics_hz
        start = time.perf_counter()
        done = 0
        while not self._stop.is_set():
            now = time.perf_counter()
            due = int((now - start) * rate) - done
            if due <= 0:
                time.sleep(max(0.0, start + (done + 1) / rate - now))
                continue
            if due > self.max_lag_steps:
                # Too far behind (CPU starvation): drop the backlog rather than running fast later.
                self.dropped_steps += due - 1
                done += due - 1
                due = 1
            with self.lock:
                self.sim.step(due)
                self.sim_elapsed += due / rate
                self.steps += due
            done += due

    def step_blocking(self, n: int) -> None:
        """Step without the thread (tests, benches): ``n`` physics steps as fast as possible."""
        with self.lock:
            self.sim.step(n)
            self.sim_elapsed += n / self.physics_hz
            self.steps += n

    def stats(self) -> RealtimeStats:
        """Real-time factor since the previous call."""
        now = time.perf_counter()
        mark_wall, mark_sim = self._stats_mark
        sim_now = self.sim_elapsed
        self._stats_mark = (now, sim_now)
        wall = now - mark_wall
        return RealtimeStats(wall_s=wall, sim_s=sim_now - mark_sim, steps=self.steps,
                             dropped_steps=self.dropped_steps,
                             real_time_factor=(sim_now - mark_sim) / wall if wall > 0 else 0.0)

    # -- commands and state (all under the lock) --------------------------------------------------------
    def set_arm_command(self, values) -> None:
        values = np.asarray(values, dtype=float)
        if values.shape != (7,) or not np.all(np.isfinite(values)):
            raise ValueError(f'expected 7 finite arm joint targets, got {list(values)}')
        with self.lock:
            self.sim.set_arm_command(values)

    def set_gripper_command(self, opening: float) -> None:
        if not np.isfinite(opening):
            raise ValueError(f'expected a finite gripper opening, got {opening}')
        with self.lock:
            self.sim.set_gripper_command(opening)

    def reset(self, task: str = '', seed=None) -> int:
        """Reset (switching task when ``task`` names another one); returns the seed used."""
        fresh = None
        if task and task != self.sim.task_name:   # build the new scene outside the lock: physics keeps running
            fresh = Simulation(task, physics_hz=self.physics_hz, seed=seed)
        with self.lock:
            if fresh is not None:
                self.sim = fresh
                self.model_generation += 1
            return self.sim.reset(seed)

    def joint_state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        with self.lock:
            return (*self.sim.joint_state(), self.sim_elapsed)

    def task_state(self) -> TaskState:
        with self.lock:
            return self.sim.task_state()

    def snapshot(self) -> Snapshot:
        with self.lock:
            d = self.sim.data
            return Snapshot(self.sim.model, d.qpos.copy(), d.mocap_pos.copy(), d.mocap_quat.copy(), self.sim_elapsed,
                            time.time_ns())

    @property
    def task_name(self) -> str:
        return self.sim.task_name

    @property
    def seed(self) -> int:
        return self.sim.seed


class Ticker:
    """Fixed-rate schedule: after each tick's work, ``wait`` sleeps until the next tick is due.

    A late tick runs at once (so the average rate holds); beyond ``max_backlog`` late ticks the rest are
    skipped and counted, rather than run in a burst.
    """

    def __init__(self, rate_hz: float, max_backlog: int):
        self.period = 1.0 / float(rate_hz)
        self.max_backlog = int(max_backlog)
        self.next = time.perf_counter()
        self.skipped = 0

    def wait(self, stop: threading.Event) -> bool:
        """Sleep until the next tick; False when ``stop`` was set meanwhile."""
        self.next += self.period
        now = time.perf_counter()
        behind = int((now - self.next) / self.period)
        if behind > self.max_backlog:
            self.skipped += behind - self.max_backlog
            self.next += (behind - self.max_backlog) * self.period
        return not stop.wait(max(0.0, self.next - now))


class PeriodicThread:
    """Calls ``fn()`` at ``rate_hz`` in its own thread, independent of the ROS executor's load."""

    def __init__(self, rate_hz: float, fn, name: str, max_backlog: int = 10):
        self.fn = fn
        self.ticker = Ticker(rate_hz, max_backlog)
        self.calls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self.ticker.next = time.perf_counter()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)

    def _run(self) -> None:
        while True:
            self.fn()
            self.calls += 1
            if not self.ticker.wait(self._stop):
                return


class SnapshotRenderer:
    """Renders snapshots with its own MjData; create and use it in one thread (the GL context's)."""

    def __init__(self, cameras, width: int, height: int, depth: bool = True):
        self.cameras, self.width, self.height, self.depth = list(cameras), width, height, depth
        self._model = None
        self._data = None
        self._renderer = None

    def render(self, snap: Snapshot) -> dict[str, np.ndarray]:
        if snap.model is not self._model:   # first frame, or the task (and so the model) changed
            self.close()
            self._model = snap.model
            self._data = mujoco.MjData(snap.model)
            self._renderer = CameraRenderer(snap.model, self.cameras, self.width, self.height, self.depth)
        self._data.qpos[:] = snap.qpos
        self._data.mocap_pos[:] = snap.mocap_pos
        self._data.mocap_quat[:] = snap.mocap_quat
        mujoco.mj_kinematics(self._model, self._data)   # poses are all that rendering needs
        mujoco.mj_camlight(self._model, self._data)
        return self._renderer.render(self._data)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None


class CameraThread:
    """Calls ``on_frame(snapshot, images)`` at ``rate_hz`` with images rendered from fresh snapshots.

    When rendering is slower than the rate, ticks are skipped (counted in ``skipped``) instead of queueing;
    a frame up to two periods late is rendered at once, so short stalls do not lower the average rate.
    """

    def __init__(self, realtime: RealtimeSimulation, cameras, width: int, height: int, depth: bool,
                 rate_hz: float, on_frame):
        self.realtime = realtime
        self.cameras, self.width, self.height, self.depth = list(cameras), width, height, depth
        self.period = 1.0 / float(rate_hz)
        self.on_frame = on_frame
        self.frames = 0
        self.skipped = 0
        self.error = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name='cameras', daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(timeout=30.0)
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)

    def _run(self) -> None:
        renderer = SnapshotRenderer(self.cameras, self.width, self.height, self.depth)
        try:
            renderer.render(self.realtime.snapshot())   # create the GL context now: errors show at start
        except Exception as exc:  # noqa: BLE001 - reported to start() in the owning thread
            self.error = exc
            self._ready.set()
            renderer.close()
            return
        self._ready.set()
        ticker = Ticker(1.0 / self.period, max_backlog=2)
        try:
            while not self._stop.is_set():
                snap = self.realtime.snapshot()
                self.on_frame(snap, renderer.render(snap))
                self.frames += 1
                if not ticker.wait(self._stop):
                    break
                self.skipped = ticker.skipped
        finally:
            renderer.close()
