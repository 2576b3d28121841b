# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The Franka Panda of gymnasium-robotics, composed into a table-top scene with cameras.

The robot's MJCF files and meshes are read from the installed gymnasium-robotics package at run time;
nothing of them is copied here. The asset's joint names (``robot:panda0_joint1`` ...) are renamed to the
ROS names (``panda_joint1`` ...) so that the MuJoCo model, /joint_states and the command topics agree.
"""

from functools import lru_cache
import importlib.util
from pathlib import Path

import mujoco
import numpy as np

from rlhf_common.robot import JOINT_NAMES

# A "ready" pose with the gripper pointing down over the table.
HOME_ARM_QPOS = np.array([0.0, -0.132, 0.0, -2.243, 0.0, 0.541, 0.0])

EE_SITE = 'ee_site'
CAMERA_NAMES = ('scene_camera', 'wrist_camera')
TABLE_HEIGHT = 0.0      # the table top is the z = 0 plane; the robot base stands on it
ROBOT_BODIES_PREFIX = 'panda0_'

_ASSET_JOINT_PREFIX = 'robot:panda0_'
_HAND_QUAT = (0.92388, 0.0, 0.0, -0.382683)   # the hand/finger frame in link7, from chain.xml
_EE_Z = 0.2304       # tool centre point in link7: middle of the finger pads
_WRIST_CAMERA_POS = np.array([0.05, -0.05, 0.105])
_WRIST_CAMERA_LOOK_AT = np.array([0.0, 0.0, 0.27])
_SCENE_CAMERA_POS = np.array([1.1, 0.4, 0.7])
_SCENE_CAMERA_LOOK_AT = np.array([0.38, 0.0, 0.2])


def franka_asset_dir() -> Path:
    """Directory of the Franka assets inside the installed gymnasium-robotics package."""
    spec = importlib.util.find_spec('gymnasium_robotics')  # locate without importing (its import is slow)
    if spec is None or spec.origin is None:
        raise RuntimeError('gymnasium-robotics is not installed: it provides the Franka Panda model '
                           '(pip install gymnasium-robotics)')
    path = Path(spec.origin).parent / 'envs' / 'assets' / 'kitchen_franka' / 'franka_assets'
    for name in ('chain.xml', 'actuator.xml', 'assets.xml', 'meshes'):
        if not (path / name).exists():
            raise RuntimeError(f'gymnasium-robotics at {path} lacks {name}; expected the kitchen_franka assets')
    return path


def look_at_xyaxes(pos, target, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """MJCF ``xyaxes`` of a camera at ``pos`` looking at ``target`` (MuJoCo cameras look along -z)."""
    forward = np.asarray(target, float) - np.asarray(pos, float)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, np.asarray(up, float))
    right /= np.linalg.norm(right)
    cam_up = np.cross(right, forward)
    return np.concatenate([right, cam_up])


def _fmt(values) -> str:
    return ' '.join(f'{v:.6g}' for v in values)


def scene_xml(objects_xml: str) -> tuple[str, np.ndarray]:
    """MJCF of the scene (robot included by absolute path, table, cameras, task objects) and the wrist camera axes.

    The wrist camera is added through MjSpec because it belongs to a body defined in the included chain.
    """
    root = franka_asset_dir()
    # The wrist camera sits beside the hand, perpendicular to the finger motion, looking past the finger tips.
    wrist_axes = look_at_xyaxes(_WRIST_CAMERA_POS, _WRIST_CAMERA_LOOK_AT, up=(0.707107, -0.707107, 0.0))
    scene_axes = look_at_xyaxes(_SCENE_CAMERA_POS, _SCENE_CAMERA_LOOK_AT)
    return f"""<mujoco model="rlhf_panda_scene">
  <include file="{root / 'assets.xml'}"/>
  <compiler angle="radian" meshdir="{root / 'meshes'}" autolimits="true"/>
  <option timestep="0.002" integrator="implicitfast" cone="elliptic" impratio="5"/>
  <visual>
    <global offwidth="1280" offheight="960"/>
    <map znear="0.005" zfar="20"/>
    <quality shadowsize="1024" offsamples="0"/>  <!-- no MSAA: 3x faster on a software renderer -->
    <headlight ambient="0.35 0.35 0.35" diffuse="0.5 0.5 0.5" specular="0.1 0.1 0.1"/>
  </visual>
  <asset>
    <texture name="floor_tex" type="2d" builtin="checker" rgb1=".25 .28 .32" rgb2=".18 .2 .24" width="256"
             height="256"/>
    <material name="floor_mat" texture="floor_tex" texrepeat="8 8"/>
    <material name="table_mat" rgba=".62 .5 .38 1"/>
  </asset>
  <worldbody>
    <light name="key_light" pos="0.6 -0.6 2.0" dir="-0.1 0.3 -1" diffuse=".6 .6 .6" castshadow="false"/>
    <geom name="floor" type="plane" pos="0 0 -0.75" size="4 4 0.1" material="floor_mat"/>
    <geom name="table" type="box" pos="0.35 0 -0.025" size="0.75 0.7 0.025" material="table_mat"
          friction="1 0.005 0.0001"/>
    <camera name="scene_camera" pos="{_fmt(_SCENE_CAMERA_POS)}" xyaxes="{_fmt(scene_axes)}" fovy="45"/>
    <body name="panda_base" pos="0 0 {TABLE_HEIGHT}">
      <include file="{root / 'chain.xml'}"/>
    </body>
{objects_xml}
  </worldbody>
  <include file="{root / 'actuator.xml'}"/>
</mujoco>
""", wrist_axes


# Grid cell (m) for simplifying the visual meshes (rlhf_sim.meshes): 8 mm on the links, about one pixel of
# the scene camera at 128x96; 2 mm on the hand, which the wrist camera sees from close by. 0 keeps the
# original meshes (150k triangles, 3x the rendering CPU).
VISUAL_MESH_CELL = 0.008
_HAND_MESH_CELL = 0.002


def _simplify_visual_meshes(spec: mujoco.MjSpec, cell: float) -> None:
    from rlhf_sim.meshes import cluster_simplify, read_binary_stl
    meshdir = Path(spec.meshdir)
    for mesh in spec.meshes:
        if not mesh.file.startswith('visual/'):
            continue
        vertices, faces = read_binary_stl(meshdir / mesh.file)
        vertices, faces = cluster_simplify(vertices, faces, _HAND_MESH_CELL if 'hand' in mesh.file else cell)
        mesh.file = ''
        mesh.uservert = vertices.reshape(-1).tolist()
        mesh.userface = faces.reshape(-1).tolist()
        mesh.inertia = mujoco.mjtMeshInertia.mjMESH_INERTIA_SHELL   # simplified surfaces need not be closed


@lru_cache(maxsize=8)
def _compiled_spec_xml(objects_xml: str, visual_mesh_cell: float = VISUAL_MESH_CELL) -> str:
    """Compose, rename and return the final MJCF text (cached: compiling from it is then cheap)."""
    xml, wrist_axes = scene_xml(objects_xml)
    spec = mujoco.MjSpec.from_string(xml)
    if visual_mesh_cell > 0:
        _simplify_visual_meshes(spec, visual_mesh_cell)
    renames = {f'{_ASSET_JOINT_PREFIX}joint{i}': f'panda_joint{i}' for i in range(1, 8)}
    renames[f'{_ASSET_JOINT_PREFIX}finger_joint1'] = 'panda_finger_joint1'
    renames[f'{_ASSET_JOINT_PREFIX}finger_joint2'] = 'panda_finger_joint2'
    for old, new in renames.items():
        spec.joint(old).name = new
    # Actuators take the name of the joint they drive (as a ros2_control joint interface does).
    for actuator in spec.actuators:
        actuator.target = renames[actuator.target]
        actuator.name = actuator.target
    # The real Panda compensates gravity in its controller; MuJoCo's gravcomp does the same here, so
    # position targets are tracked without a gravity sag.
    for body in spec.bodies:
        if body.name.startswith(ROBOT_BODIES_PREFIX):
            body.gravcomp = 1.0
    spec.site('end_effector').group = 4  # the asset's own marker would show in the wrist camera
    link7 = spec.body('panda0_link7')
    link7.add_site(name=EE_SITE, pos=[0, 0, _EE_Z], quat=list(_HAND_QUAT), size=[0.008, 0, 0],
                   rgba=[1, 0.2, 0.2, 0.0], group=4)
    cam = link7.add_camera(name='wrist_camera', pos=list(_WRIST_CAMERA_POS), fovy=70.0)
    cam.alt.type = mujoco.mjtOrientation.mjORIENTATION_XYAXES
    cam.alt.xyaxes = list(wrist_axes)
    spec.compile()
    return spec.to_xml()


def build_model(objects_xml: str = '', timestep: float = 0.002,
                visual_mesh_cell: float = VISUAL_MESH_CELL) -> mujoco.MjModel:
    """Compile the scene with the given task objects (MJCF bodies placed in the worldbody)."""
    # to_xml keeps the absolute meshdir and inlines simplified meshes, so the text compiles on its own.
    model = mujoco.MjModel.from_xml_string(_compiled_spec_xml(objects_xml, float(visual_mesh_cell)))
    model.opt.timestep = timestep
    return model


class RobotIndices:
    """Addresses of the Panda's joints and actuators in a compiled model, in JOINT_NAMES order."""

    def __init__(self, model: mujoco.MjModel):
        joint_ids = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, n) for n in JOINT_NAMES]
        if min(joint_ids) < 0:
            raise ValueError(f'model lacks one of the joints {JOINT_NAMES}')
        self.qpos = np.array([model.jnt_qposadr[j] for j in joint_ids])
        self.qvel = np.array([model.jnt_dofadr[j] for j in joint_ids])
        self.arm_qpos = self.qpos[:7]
        self.arm_qvel = self.qvel[:7]
        self.actuators = np.array([mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_ACTUATOR, n) for n in JOINT_NAMES])
        self.joint_lower = model.jnt_range[joint_ids, 0].copy()
        self.joint_upper = model.jnt_range[joint_ids, 1].copy()
        self.ctrl_lower = model.actuator_ctrlrange[self.actuators, 0].copy()
        self.ctrl_upper = model.actuator_ctrlrange[self.actuators, 1].copy()
        self.ee_site = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, EE_SITE)
        self.arm_lower = self.joint_lower[:7]
        self.arm_upper = self.joint_upper[:7]
