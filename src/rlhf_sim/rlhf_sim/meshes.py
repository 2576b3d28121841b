# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Lighter copies of the robot's visual meshes for rendering small camera images on a CPU.

The Panda's visual STL files hold about 150 000 triangles; at 128x96 pixels nearly all of them are smaller
than a pixel, yet a software rasteriser pays for every one. Vertex clustering on a grid (vertices in one
cell merge into their mean; triangles that collapse disappear) keeps the silhouette to within the cell
size while dropping most triangles. Collision geometry and physics are untouched.
"""

from pathlib import Path

import numpy as np

_STL_TRIANGLE = np.dtype([('normal', '<f4', (3,)), ('vertices', '<f4', (3, 3)), ('attribute', '<u2')])


def read_binary_stl(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (V, 3) and triangles (F, 3) of a binary STL file, identical corners merged."""
    raw = Path(path).read_bytes()
    if len(raw) < 84:
        raise ValueError(f'{path}: too short for a binary STL file')
    count = int(np.frombuffer(raw, '<u4', count=1, offset=80)[0])
    if len(raw) != 84 + count * _STL_TRIANGLE.itemsize:
        raise ValueError(f'{path}: not a binary STL file ({count} triangles declared, {len(raw)} bytes)')
    corners = np.frombuffer(raw, _STL_TRIANGLE, count=count, offset=84)['vertices'].reshape(-1, 3)
    vertices, index = np.unique(corners, axis=0, return_inverse=True)
    return vertices.astype(np.float64), index.reshape(-1, 3)


def cluster_simplify(vertices: np.ndarray, faces: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """Merge the vertices of each ``cell``-sized grid cube into their mean; drop collapsed and repeated faces."""
    if cell <= 0:
        return vertices, faces
    keys = np.floor(vertices / cell).astype(np.int64)
    _, cluster, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    cluster = cluster.reshape(-1)
    merged = np.zeros((len(counts), 3))
    np.add.at(merged, cluster, vertices)
    merged /= counts[:, None]
    new_faces = cluster[faces]
    keep = ((new_faces[:, 0] != new_faces[:, 1]) & (new_faces[:, 1] != new_faces[:, 2])
            & (new_faces[:, 0] != new_faces[:, 2]))
    new_faces = new_faces[keep]
    # the same triangle from several original ones: keep one (orientation-preserving rotation to compare)
    _, first = np.unique(_canonical_rotation(new_faces), axis=0, return_index=True)
    new_faces = new_faces[np.sort(first)]
    used = np.unique(new_faces)
    remap = -np.ones(len(merged), dtype=np.int64)
    remap[used] = np.arange(len(used))
    return merged[used], remap[new_faces]


def _canonical_rotation(faces: np.ndarray) -> np.ndarray:
    """Rotate each triangle's indices so the smallest comes first (same winding, comparable rows)."""
    start = np.argmin(faces, axis=1)
    order = (start[:, None] + np.arange(3)[None, :]) % 3
    return np.take_along_axis(faces, order, axis=1)
