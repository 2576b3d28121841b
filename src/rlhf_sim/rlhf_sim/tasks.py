# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Table-top tasks: their objects, seeded randomisation, success detection and dense progress.

Every task manipulates one object (the first of ``object_names``) towards ``target_pose``. Progress is
staged the same way for all of them: reach the object, grasp it, carry it over the target, bring it to
the target height; it is 1.0 exactly when the task's success condition holds.
"""

from dataclasses import dataclass, field

import mujoco
import numpy as np

from rlhf_sim.robot import ROBOT_BODIES_PREFIX, RobotIndices

CUBE_HALF = 0.022         # 4.4 cm cubes: the Panda hand opens to 8 cm
PEG_RADIUS = 0.016
PEG_HALF_LENGTH = 0.05
HOLE_HALF = 0.022         # square hole, 6 mm clearance around the peg
SOCKET_HEIGHT = 0.05
SOCKET_WALL = 0.015
ZONE_HALF = 0.045

# Where objects may be spawned (x, y ranges in the robot base frame, which is the world frame).
SPAWN_X = (0.42, 0.62)
SPAWN_Y = (-0.18, 0.18)


@dataclass(eq=False)
class TaskState:
    """Privileged state of a task (what /rlhf_sim/task_state carries)."""

    task: str
    object_names: list[str]
    object_poses: np.ndarray            # (N, 7) [x, y, z, qw, qx, qy, qz], world frame
    target_pose: np.ndarray             # (7,)
    progress: float = 0.0
    success: bool = False
    grasped: bool = field(default=False)  # both fingers touch the manipulated object

    def __eq__(self, other):
        if not isinstance(other, TaskState):
            return NotImplemented
        return (self.task == other.task and self.object_names == other.object_names
                and np.array_equal(self.object_poses, other.object_poses)
                and np.array_equal(self.target_pose, other.target_pose) and self.progress == other.progress
                and self.success == other.success and self.grasped == other.grasped)


def _yaw_quat(yaw: float) -> np.ndarray:
    return np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])


def _sample_apart(rng: np.random.Generator, count: int, min_dist: float) -> list[np.ndarray]:
    """``count`` xy positions in the spawn area, pairwise at least ``min_dist`` apart."""
    for _ in range(1000):
        points = [np.array([rng.uniform(*SPAWN_X), rng.uniform(*SPAWN_Y)]) for _ in range(count)]
        if all(np.linalg.norm(a - b) >= min_dist for i, a in enumerate(points) for b in points[i + 1:]):
            return points
    raise RuntimeError('could not place the task objects apart from each other')


def _box_xml(name: str, rgba: str, pos: str) -> str:
    return (f'<body name="{name}" pos="{pos}"><freejoint name="{name}_joint"/>'
            f'<geom name="{name}_geom" type="box" size="{CUBE_HALF} {CUBE_HALF} {CUBE_HALF}" rgba="{rgba}" '
            f'mass="0.05" friction="1.5 0.01 0.0002" condim="4"/></body>')


class Task:
    """Base class: subclasses define the objects, their randomisation and the goal."""

    name = ''
    object_names: tuple[str, ...] = ()

    def __init__(self):
        self._model = None
        self._start_xy_dist = 0.2
        self._start_dist = 0.2

    def objects_xml(self) -> str:
        raise NotImplementedError

    def bind(self, model: mujoco.MjModel) -> None:
        """Look up the ids this task needs in a model compiled with its objects."""
        self._model = model
        self.idx = RobotIndices(model)
        self.body_ids = [model.body(n).id for n in self.object_names]
        self.free_qpos = [model.jnt_qposadr[model.body_jntadr[b]] if model.body_jntnum[b] else -1
                          for b in self.body_ids]
        self.free_qvel = [model.jnt_dofadr[model.body_jntadr[b]] if model.body_jntnum[b] else -1
                          for b in self.body_ids]
        self.mocap_ids = {model.body(b).name: model.body_mocapid[b] for b in range(model.nbody)
                          if model.body_mocapid[b] >= 0}
        finger_bodies = {model.body(ROBOT_BODIES_PREFIX + 'leftfinger').id: 0,
                         model.body(ROBOT_BODIES_PREFIX + 'rightfinger').id: 1}
        self._finger_of_geom = {g: finger_bodies[model.geom_bodyid[g]] for g in range(model.ngeom)
                                if model.geom_bodyid[g] in finger_bodies}
        self._object_geoms = {g for g in range(model.ngeom) if model.geom_bodyid[g] == self.body_ids[0]}

    # -- helpers for subclasses -------------------------------------------------------------------
    def _set_free_pose(self, data, index: int, xyz, quat) -> None:
        adr = self.free_qpos[index]
        data.qpos[adr:adr + 3] = xyz
        data.qpos[adr + 3:adr + 7] = quat
        dof = self.free_qvel[index]
        data.qvel[dof:dof + 6] = 0.0

    def _set_mocap(self, data, body_name: str, xyz) -> None:
        data.mocap_pos[self.mocap_ids[body_name]] = xyz

    def object_poses(self, data) -> np.ndarray:
        return np.array([np.concatenate([data.xpos[b], data.xquat[b]]) for b in self.body_ids])

    def grasped(self, data) -> bool:
        """Both fingers are in contact with the manipulated object."""
        touching = [False, False]
        for i in range(data.ncon):
            contact = data.contact[i]
            for finger_geom, other in ((contact.geom1, contact.geom2), (contact.geom2, contact.geom1)):
                if finger_geom in self._finger_of_geom and other in self._object_geoms:
                    touching[self._finger_of_geom[finger_geom]] = True
        return touching[0] and touching[1]

    def object_speed(self, data, index: int = 0) -> float:
        dof = self.free_qvel[index]
        return float(np.linalg.norm(data.qvel[dof:dof + 3]))

    # -- the task interface ------------------------------------------------------------------------
    def randomise(self, data, rng: np.random.Generator) -> None:
        """Place the objects (data.qpos of free joints, data.mocap_pos of fixed fixtures)."""
        raise NotImplementedError

    def target_pose(self, data) -> np.ndarray:
        raise NotImplementedError

    def is_success(self, data, poses: np.ndarray, target: np.ndarray, grasped: bool) -> bool:
        raise NotImplementedError

    def start_episode(self, data) -> None:
        """Remember the start distance (after randomise and mj_forward) so progress starts near 0."""
        poses, target = self.object_poses(data), self.target_pose(data)
        self._start_xy_dist = max(float(np.linalg.norm(poses[0, :2] - target[:2])), 0.05)

    def evaluate(self, data) -> TaskState:
        poses = self.object_poses(data)
        target = self.target_pose(data)
        grasped = self.grasped(data)
        success = bool(self.is_success(data, poses, target, grasped))
        ee = data.site_xpos[self.idx.ee_site]
        obj = poses[0, :3]
        reach = np.clip(1.0 - np.linalg.norm(ee - obj) / 0.25, 0.0, 1.0)
        xy_dist = np.linalg.norm(obj[:2] - target[:2])
        carry = np.clip(1.0 - xy_dist / self._start_xy_dist, 0.0, 1.0)
        place = np.clip(1.0 - abs(obj[2] - target[2]) / 0.1, 0.0, 1.0) if xy_dist < 0.02 else 0.0
        raw = 0.15 * reach + 0.15 * float(grasped or carry > 0.2) + 0.5 * carry + 0.2 * place
        progress = 1.0 if success else float(min(raw, 0.99))
        return TaskState(task=self.name, object_names=list(self.object_names), object_poses=poses,
                         target_pose=target, progress=progress, success=success, grasped=grasped)


class PickPlace(Task):
    """Carry the red cube into the green target zone and let go of it there."""

    name = 'pick_place'
    object_names = ('cube',)

    def objects_xml(self) -> str:
        return (_box_xml('cube', '.85 .2 .2 1', f'0.5 0 {CUBE_HALF}') +
                f'<body name="target_zone" mocap="true" pos="0.5 0.2 0"><geom name="target_zone_geom" type="box" '
                f'size="{ZONE_HALF} {ZONE_HALF} 0.0008" pos="0 0 0.0008" rgba=".2 .8 .3 .8" contype="0" '
                f'conaffinity="0"/></body>')

    def randomise(self, data, rng):
        cube, zone = _sample_apart(rng, 2, 0.15)
        self._set_free_pose(data, 0, [*cube, CUBE_HALF], _yaw_quat(rng.uniform(-np.pi / 4, np.pi / 4)))
        self._set_mocap(data, 'target_zone', [*zone, 0.0])

    def target_pose(self, data):
        zone = data.mocap_pos[self.mocap_ids['target_zone']]
        return np.array([zone[0], zone[1], CUBE_HALF, 1.0, 0.0, 0.0, 0.0])

    def is_success(self, data, poses, target, grasped):
        cube = poses[0, :3]
        inside = np.all(np.abs(cube[:2] - target[:2]) < ZONE_HALF - 0.01)
        resting = abs(cube[2] - CUBE_HALF) < 0.005 and self.object_speed(data) < 0.05
        return bool(inside and resting and not grasped)


class Stack(Task):
    """Put the red cube on top of the blue cube and let go of it."""

    name = 'stack'
    object_names = ('cube_top', 'cube_base')

    def objects_xml(self) -> str:
        return (_box_xml('cube_top', '.85 .2 .2 1', f'0.5 0 {CUBE_HALF}') +
                _box_xml('cube_base', '.2 .35 .85 1', f'0.5 0.2 {CUBE_HALF}'))

    def randomise(self, data, rng):
        top, base = _sample_apart(rng, 2, 0.13)
        self._set_free_pose(data, 0, [*top, CUBE_HALF], _yaw_quat(rng.uniform(-np.pi / 4, np.pi / 4)))
        self._set_free_pose(data, 1, [*base, CUBE_HALF], _yaw_quat(rng.uniform(-np.pi / 4, np.pi / 4)))

    def target_pose(self, data):
        base = data.xpos[self.body_ids[1]]
        return np.array([base[0], base[1], base[2] + 2 * CUBE_HALF, *data.xquat[self.body_ids[1]]])

    def is_success(self, data, poses, target, grasped):
        top, base = poses[0, :3], poses[1, :3]
        aligned = np.linalg.norm(top[:2] - base[:2]) < 0.02
        on_top = abs(top[2] - base[2] - 2 * CUBE_HALF) < 0.006
        base_down = abs(base[2] - CUBE_HALF) < 0.005
        return bool(aligned and on_top and base_down and not grasped and self.object_speed(data) < 0.05)


class Insertion(Task):
    """Insert the round peg into the square hole of the fixed socket (at least 2.5 cm deep)."""

    name = 'insertion'
    object_names = ('peg', 'socket')
    INSERT_DEPTH = 0.025

    def objects_xml(self) -> str:
        walls = []
        offset = HOLE_HALF + SOCKET_WALL / 2
        long_half = HOLE_HALF + SOCKET_WALL
        for i, (x, y, sx, sy) in enumerate([(offset, 0, SOCKET_WALL / 2, long_half),
                                            (-offset, 0, SOCKET_WALL / 2, long_half),
                                            (0, offset, HOLE_HALF, SOCKET_WALL / 2),
                                            (0, -offset, HOLE_HALF, SOCKET_WALL / 2)]):
            walls.append(f'<geom name="socket_wall{i}" type="box" pos="{x} {y} {SOCKET_HEIGHT / 2}" '
                         f'size="{sx} {sy} {SOCKET_HEIGHT / 2}" rgba=".3 .3 .35 1"/>')
        return (f'<body name="peg" pos="0.5 0 {PEG_HALF_LENGTH}"><freejoint name="peg_joint"/>'
                f'<geom name="peg_geom" type="cylinder" size="{PEG_RADIUS} {PEG_HALF_LENGTH}" rgba=".9 .6 .1 1" '
                f'mass="0.06" friction="1.5 0.01 0.0002" condim="4"/></body>'
                f'<body name="socket" mocap="true" pos="0.5 0.2 0">{"".join(walls)}</body>')

    def randomise(self, data, rng):
        peg, socket = _sample_apart(rng, 2, 0.15)
        self._set_free_pose(data, 0, [*peg, PEG_HALF_LENGTH], [1.0, 0.0, 0.0, 0.0])
        self._set_mocap(data, 'socket', [*socket, 0.0])

    def target_pose(self, data):
        socket = data.mocap_pos[self.mocap_ids['socket']]
        return np.array([socket[0], socket[1], PEG_HALF_LENGTH, 1.0, 0.0, 0.0, 0.0])

    def is_success(self, data, poses, target, grasped):
        peg = poses[0, :3]
        centred = np.linalg.norm(peg[:2] - target[:2]) < HOLE_HALF - PEG_RADIUS + 0.002
        bottom = peg[2] - PEG_HALF_LENGTH
        return bool(centred and bottom < SOCKET_HEIGHT - self.INSERT_DEPTH)


class Reach(Task):
    """Bring the gripper to a floating goal marker: no contact, learnable from a few demonstrations.

    The warm-up task of the pipeline: a policy must get within ``TOLERANCE`` of the goal; progress is the
    fraction of the start distance covered.
    """

    name = 'reach'
    object_names = ('goal',)
    TOLERANCE = 0.03
    GOAL_Z = (0.08, 0.25)

    def objects_xml(self) -> str:
        return ('<body name="goal" mocap="true" pos="0.5 0 0.15"><geom name="goal_geom" type="sphere" '
                'size="0.015" rgba=".2 .8 .3 .7" contype="0" conaffinity="0"/></body>')

    def randomise(self, data, rng):
        x, y = rng.uniform(SPAWN_X[0], SPAWN_X[1]), rng.uniform(SPAWN_Y[0], SPAWN_Y[1])
        self._set_mocap(data, 'goal', [x, y, rng.uniform(*self.GOAL_Z)])

    def target_pose(self, data):
        return np.array([*data.mocap_pos[self.mocap_ids['goal']], 1.0, 0.0, 0.0, 0.0])

    def _distance(self, data) -> float:
        return float(np.linalg.norm(data.site_xpos[self.idx.ee_site] - self.target_pose(data)[:3]))

    def start_episode(self, data) -> None:
        self._start_dist = max(self._distance(data), 0.05)

    def evaluate(self, data) -> TaskState:
        distance = self._distance(data)
        success = distance < self.TOLERANCE
        progress = 1.0 if success else float(min(np.clip(1.0 - distance / self._start_dist, 0.0, 1.0), 0.99))
        return TaskState(task=self.name, object_names=list(self.object_names), object_poses=self.object_poses(data),
                         target_pose=self.target_pose(data), progress=progress, success=success, grasped=False)


TASKS = {task.name: task for task in (PickPlace, Stack, Insertion, Reach)}


def make_task(name: str) -> Task:
    """A new task instance by name; the error lists the known names."""
    if name not in TASKS:
        raise ValueError(f'unknown task {name!r}; expected one of {sorted(TASKS)}')
    return TASKS[name]()
