# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The bootstrap's wheel-fix check names each missing fix instead of failing later inside CMake."""

import os
from pathlib import Path
import shutil
import subprocess
import sys

import pytest

WS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(WS / 'scripts'))
import wheel_fixes  # noqa: E402

PREFIX = os.environ.get('RLHF_VENV', str(WS / '.venv'))
embedded_only = pytest.mark.skipif(os.environ.get('RLHF_ROS_MODE') != 'embedded',
                                   reason='the wheel fixes concern the embedded default only')


def fake_prefix(tmp_path, *, drop_package=None, stale_include=False):
    """A prefix with the CMake packages the fixes provide, optionally with one fix undone."""
    prefix = tmp_path / 'prefix'
    for cmake_name in wheel_fixes.REQUIRED_CMAKE_PACKAGES.values():
        if cmake_name != drop_package:
            (prefix / 'share' / cmake_name / 'cmake').mkdir(parents=True)
    export = prefix / 'share' / 'std_msgs' / 'cmake' / 'export_std_msgs__rosidl_generator_pyExport.cmake'
    export.parent.mkdir(parents=True)
    export.write_text(f'INTERFACE_INCLUDE_DIRECTORIES "{wheel_fixes.BUILD_PYTHON_INCLUDE};'
                      f'{wheel_fixes.BUILD_NUMPY_INCLUDE}"\n')
    if not stale_include:
        wheel_fixes.apply(str(prefix))
    environ = {'AMENT_PREFIX_PATH': str(prefix), 'CMAKE_PREFIX_PATH': str(prefix)}
    return str(prefix), environ


def test_complete_prefix_has_no_problem(tmp_path):
    prefix, environ = fake_prefix(tmp_path)
    assert wheel_fixes.check(prefix, environ) == []


def test_apply_rewrites_build_machine_include_dirs(tmp_path):
    prefix, _ = fake_prefix(tmp_path)
    text = next(Path(prefix).rglob('*.cmake')).read_text()
    python_inc, numpy_inc = wheel_fixes.local_include_dirs()
    assert '/opt/python/cp311-cp311' not in text
    assert python_inc in text and numpy_inc in text


@pytest.mark.parametrize('cmake_name', sorted(wheel_fixes.REQUIRED_CMAKE_PACKAGES.values()))
def test_missing_cmake_package_is_named(tmp_path, cmake_name):
    prefix, environ = fake_prefix(tmp_path, drop_package=cmake_name)
    problems = wheel_fixes.check(prefix, environ)
    assert len(problems) == 1
    assert cmake_name in problems[0] and 'install the wheel ros-jazzy-' in problems[0]


def test_unrewritten_include_dirs_are_reported(tmp_path):
    prefix, environ = fake_prefix(tmp_path, stale_include=True)
    [problem] = wheel_fixes.check(prefix, environ)
    assert 'wheel_fixes.py apply' in problem


def test_environment_without_prefix_is_reported(tmp_path):
    prefix, _ = fake_prefix(tmp_path)
    problems = wheel_fixes.check(prefix, {})
    assert [p.split()[0] for p in problems] == ['AMENT_PREFIX_PATH', 'CMAKE_PREFIX_PATH']


@embedded_only
def test_bootstrap_stops_with_a_clear_error_when_a_fix_is_removed(tmp_path):
    """Hide one fixed package from the real environment: the bootstrap names it and builds nothing."""
    hidden = Path(PREFIX) / 'share' / 'ament_cmake_gmock'
    moved = tmp_path / 'ament_cmake_gmock'
    shutil.move(str(hidden), str(moved))
    try:
        result = subprocess.run([str(WS / 'scripts' / 'bootstrap.sh'), '--no-build'],
                                capture_output=True, text=True, timeout=300)
    finally:
        shutil.move(str(moved), str(hidden))
    assert result.returncode != 0
    assert 'ament_cmake_gmock' in result.stderr and 'ros-jazzy-ament-cmake-gmock' in result.stderr
    assert 'CMake Error' not in result.stdout + result.stderr
