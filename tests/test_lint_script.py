# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The Python 3.10 / Humble guard catches what would break on Humble."""

from pathlib import Path
import sys

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'scripts'))
import lint  # noqa: E402

HEADER = '# Copyright 2026 RLHF Robotics contributors. Apache-2.0.\n"""Doc."""\n'


@pytest.mark.parametrize('code, expected', [
    ('try:\n    pass\nexcept* ValueError:\n    pass\n', 'Python 3.10'),
    ('import tomllib\n', 'tomllib'),
    ('from typing import Self\n', 'typing.Self'),
    ('node.create_timer(0.1, cb, autostart=False)\n', 'Jazzy-only'),
    ('from rclpy.qos import qos_profile_best_available\n', 'Jazzy-only'),
    ('from launch_ros.actions import PushROSNamespace\n', 'PushRosNamespace'),
])
def test_humble_incompatibilities_are_reported(tmp_path, code, expected):
    path = tmp_path / 'module.py'
    path.write_text(HEADER + code)
    problems = lint.check_file(path)
    assert problems and expected in problems[0]


def test_missing_copyright_is_reported(tmp_path):
    path = tmp_path / 'module.py'
    path.write_text('"""Doc."""\nx = 1\n')
    assert 'Copyright' in lint.check_file(path)[0]


def test_clean_file_passes(tmp_path):
    path = tmp_path / 'module.py'
    path.write_text('#!/usr/bin/env python3\n' + HEADER + 'match = 3\n')
    assert lint.check_file(path) == []
