# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Message type store for writing and reading bags without a ROS install.

The rosbags library ships the standard ROS 2 (Jazzy) message definitions. Types it does not know, such as
``rlhf_msgs/msg/TaskState``, are registered from their ``.msg`` files, searched in the ``share/<pkg>/msg``
directories of ``AMENT_PREFIX_PATH`` and in this workspace's ``src/<pkg>/msg`` (so the reader works from a
source checkout). Bags also carry their own definitions; the reader registers those as a last resort.
"""

from __future__ import annotations

import os
from pathlib import Path

from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

# src/rlhf_recorder/rlhf_recorder/msgtypes.py -> src/
_SOURCE_ROOT = Path(__file__).resolve().parents[2]


def _msg_search_dirs(package: str) -> list[Path]:
    dirs = [Path(prefix) / 'share' / package / 'msg'
            for prefix in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep) if prefix]
    dirs.append(_SOURCE_ROOT / package / 'msg')
    return dirs


def find_msg_file(msgtype: str) -> Path | None:
    """Return the ``.msg`` file of ``pkg/msg/Name`` (or ``pkg/Name``), or None when none is found."""
    parts = msgtype.split('/')
    if len(parts) not in (2, 3):
        raise ValueError(f'message type {msgtype!r}: expected "package/msg/Name"')
    package, name = parts[0], parts[-1]
    for directory in _msg_search_dirs(package):
        candidate = directory / f'{name}.msg'
        if candidate.is_file():
            return candidate
    return None


def _normalise(msgtype: str) -> str:
    parts = msgtype.split('/')
    return f'{parts[0]}/msg/{parts[-1]}' if len(parts) == 2 else msgtype


def ensure_type(typestore: Typestore, msgtype: str) -> str:
    """Register ``msgtype`` (and the types it uses) in ``typestore`` from ``.msg`` files if needed.

    Returns the normalised name ``pkg/msg/Name``. Raises LookupError naming the type and the directories
    searched when no definition can be found.
    """
    msgtype = _normalise(msgtype)
    pending = [msgtype]
    while pending:
        name = pending.pop()
        if name in typestore.types:
            continue
        path = find_msg_file(name)
        if path is None:
            searched = ', '.join(str(d) for d in _msg_search_dirs(name.split('/')[0]))
            raise LookupError(f'no message definition for {name!r} (searched {searched})')
        types = get_types_from_msg(path.read_text(encoding='utf-8'), name)
        missing = _missing_dependencies(typestore, types)
        if missing:
            pending.extend([name, *missing])
            continue
        typestore.register(types)
    return msgtype


def _missing_dependencies(typestore: Typestore, types: dict) -> list[str]:
    missing = []
    for _consts, fields in types.values():
        for _fname, desc in fields:
            for sub in _field_type_names(desc):
                if sub not in typestore.types and sub not in types:
                    missing.append(sub)
    return missing


def _field_type_names(desc) -> list[str]:
    # desc is (Nodetype, payload); payload is a name for NAME nodes or a nested (desc, size) for arrays.
    kind, payload = desc
    if isinstance(payload, str):
        return [payload] if '/' in payload else []
    if isinstance(payload, tuple) and payload and isinstance(payload[0], tuple):
        return _field_type_names(payload[0])
    return []


WORKSPACE_TYPES = ('rlhf_msgs/msg/TaskState', 'rlhf_msgs/msg/EpisodeEvent')


def make_typestore(extra_types: tuple[str, ...] = WORKSPACE_TYPES) -> Typestore:
    """Return a ROS 2 Jazzy type store plus the workspace's own messages (those whose .msg files are found)."""
    typestore = get_typestore(Stores.ROS2_JAZZY)
    for msgtype in extra_types:
        try:
            ensure_type(typestore, msgtype)
        except LookupError:
            pass  # registered later from the bag's own definitions when reading
    return typestore
