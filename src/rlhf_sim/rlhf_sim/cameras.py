# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Offscreen RGB + depth rendering of the model's cameras, and their pinhole intrinsics.

One render pass per camera reads both the colour and the depth buffer (mujoco.Renderer would need two
passes). The OpenGL context belongs to the thread that created the renderer: create, use and close a
``CameraRenderer`` in one thread.
"""

import mujoco
import numpy as np

DEFAULT_WIDTH = 128
DEFAULT_HEIGHT = 96


def camera_intrinsics(model: mujoco.MjModel, camera: str, width: int, height: int) -> np.ndarray:
    """Pinhole matrix K (3, 3) of a MuJoCo camera rendered at ``width`` x ``height`` (square pixels).

    MuJoCo's ``fovy`` is the full vertical field of view; the principal point is the image centre, in the
    ROS/OpenCV convention where pixel (0, 0) has its centre at coordinate (0, 0).
    """
    cam_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
    if cam_id < 0:
        raise ValueError(f'unknown camera {camera!r}; the model has {camera_names(model)}')
    fovy = np.deg2rad(model.cam_fovy[cam_id])
    focal = 0.5 * height / np.tan(0.5 * fovy)
    return np.array([[focal, 0.0, (width - 1) / 2.0],
                     [0.0, focal, (height - 1) / 2.0],
                     [0.0, 0.0, 1.0]])


def camera_names(model: mujoco.MjModel) -> list[str]:
    return [model.camera(i).name for i in range(model.ncam)]


class CameraRenderer:
    """Renders named cameras of ``model`` from any MjData of that model."""

    def __init__(self, model: mujoco.MjModel, cameras, width: int = DEFAULT_WIDTH, height: int = DEFAULT_HEIGHT,
                 depth: bool = True):
        known = camera_names(model)
        for name in cameras:
            if name not in known:
                raise ValueError(f'unknown camera {name!r}; the model has {known}')
        if not (0 < width <= model.vis.global_.offwidth and 0 < height <= model.vis.global_.offheight):
            raise ValueError(f'camera size {width}x{height} outside 1x1 .. '
                             f'{model.vis.global_.offwidth}x{model.vis.global_.offheight}')
        self.model = model
        self.cameras = list(cameras)
        self.width, self.height, self.depth = int(width), int(height), bool(depth)
        self._gl = mujoco.GLContext(model.vis.global_.offwidth, model.vis.global_.offheight)
        self._gl.make_current()
        self._context = mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_100)
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self._context)
        self._scene = mujoco.MjvScene(model, maxgeom=2000)
        # Shadows and reflections cost extra passes on a software renderer and add nothing to learning.
        self._scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
        self._scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
        self._option = mujoco.MjvOption()
        self._perturb = mujoco.MjvPerturb()
        self._camera = mujoco.MjvCamera()
        self._camera.type = mujoco.mjtCamera.mjCAMERA_FIXED
        self._rect = mujoco.MjrRect(0, 0, self.width, self.height)
        self._cam_ids = {n: mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, n) for n in self.cameras}
        extent = model.stat.extent
        self._near = model.vis.map.znear * extent
        self._far = model.vis.map.zfar * extent
        self._closed = False

    def render(self, data: mujoco.MjData) -> dict[str, np.ndarray]:
        """``{'<camera>/color': (H, W, 3) uint8, '<camera>/depth': (H, W) float32 metres}`` per camera."""
        if self._closed:
            raise RuntimeError('CameraRenderer is closed')
        self._gl.make_current()
        out = {}
        for name in self.cameras:
            self._camera.fixedcamid = self._cam_ids[name]
            mujoco.mjv_updateScene(self.model, data, self._option, self._perturb, self._camera,
                                   mujoco.mjtCatBit.mjCAT_ALL, self._scene)
            mujoco.mjr_render(self._rect, self._scene, self._context)
            rgb = np.empty((self.height, self.width, 3), dtype=np.uint8)
            depth = np.empty((self.height, self.width), dtype=np.float32) if self.depth else None
            mujoco.mjr_readPixels(rgb, depth, self._rect, self._context)
            out[f'{name}/color'] = np.flipud(rgb)  # OpenGL rows start at the bottom
            if self.depth:
                # The depth buffer holds non-linear z in [0, 1]; turn it into distance along the optical axis.
                metres = self._near / (1.0 - depth * (1.0 - self._near / self._far))
                out[f'{name}/depth'] = np.flipud(metres).astype(np.float32)
        return out

    def close(self) -> None:
        """Free the OpenGL context (must run in the thread that rendered)."""
        if self._closed:
            return
        self._closed = True
        self._gl.make_current()
        self._context.free()
        self._gl.free()

    def __del__(self):
        if not getattr(self, '_closed', True):
            try:
                self.close()
            except Exception:  # noqa: BLE001 - interpreter shutdown; nothing left to report to
                pass
