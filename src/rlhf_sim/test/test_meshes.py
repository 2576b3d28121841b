# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Simplified visual meshes: STL reading, vertex clustering, and images that match the original meshes."""

import mujoco
import numpy as np

from rlhf_sim.cameras import CameraRenderer
from rlhf_sim.meshes import cluster_simplify, read_binary_stl
from rlhf_sim.robot import HOME_ARM_QPOS, RobotIndices, build_model


def write_stl(path, triangles):
    triangles = np.asarray(triangles, dtype='<f4')
    record = np.zeros(len(triangles), dtype=[('n', '<f4', 3), ('v', '<f4', (3, 3)), ('a', '<u2')])
    record['v'] = triangles
    path.write_bytes(b'\0' * 80 + np.uint32(len(triangles)).tobytes() + record.tobytes())


def test_read_binary_stl_merges_shared_corners(tmp_path):
    square = [[[0, 0, 0], [1, 0, 0], [1, 1, 0]], [[0, 0, 0], [1, 1, 0], [0, 1, 0]]]
    write_stl(tmp_path / 'square.stl', square)
    vertices, faces = read_binary_stl(tmp_path / 'square.stl')
    assert vertices.shape == (4, 3) and faces.shape == (2, 3)
    np.testing.assert_array_equal(vertices[faces], np.asarray(square, float))


def test_cluster_simplify_collapses_small_triangles_and_keeps_large_ones():
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0],            # a large triangle
                         [0.001, 0.001, 0], [0.002, 0.001, 0], [0.001, 0.002, 0]])   # a tiny one near (0,0)
    faces = np.array([[0, 1, 2], [3, 4, 5]])
    new_vertices, new_faces = cluster_simplify(vertices, faces, cell=0.01)
    assert len(new_faces) == 1                    # the tiny triangle collapsed into one cell
    corners = new_vertices[new_faces[0]]
    assert np.max(np.abs(corners - vertices[[0, 1, 2]])) < 0.01   # moved by less than a cell
    same_vertices, same_faces = cluster_simplify(vertices, faces, cell=0.0)
    assert same_faces is faces and same_vertices is vertices


def test_simplified_scene_renders_like_the_original():
    images, face_counts = [], []
    for cell in (0.0, None):
        model = build_model() if cell is None else build_model(visual_mesh_cell=cell)
        data = mujoco.MjData(model)
        data.qpos[RobotIndices(model).arm_qpos] = HOME_ARM_QPOS + np.array([0.3, 0.3, 0.0, 0.3, 0.0, 0.2, 0.0])
        mujoco.mj_forward(model, data)
        renderer = CameraRenderer(model, ['scene_camera', 'wrist_camera'], 96, 72)
        try:
            images.append(renderer.render(data))
        finally:
            renderer.close()
        face_counts.append(model.mesh_facenum.sum())
    assert face_counts[1] < 0.3 * face_counts[0]
    original, simplified = images
    for key in original:
        difference = np.abs(original[key].astype(float) - simplified[key].astype(float))
        if key.endswith('color'):
            assert difference.mean() < 0.01 * 255, key   # same robot in the same place
        else:   # depth: only silhouette pixels may change, by a foreground/background jump
            assert np.mean(difference > 0.02) < 0.03, key
