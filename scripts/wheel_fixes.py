# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Apply and verify the fixes the ROS 2 Jazzy PyPI wheels need to build message packages.

The wheels are built on a manylinux image: their exported CMake targets name that image's
Python include dir and NumPy include dir, and some CMake packages and Python modules that rosidl
needs are not declared as dependencies. `apply` rewrites the paths; `check` reports, in plain words, every
fix that is missing, so the bootstrap can stop before CMake prints a wall of text.

Usage: python wheel_fixes.py apply|check PREFIX
"""

import glob
import importlib.util
import os
import sys
import sysconfig

# CMake packages rosidl needs that the wheels forget to require (pip name -> CMake name).
REQUIRED_CMAKE_PACKAGES = {
    'ros-jazzy-ament-cmake-include-directories': 'ament_cmake_include_directories',
    'ros-jazzy-rosidl-core-generators': 'rosidl_core_generators',
    'ros-jazzy-ament-cmake-ros': 'ament_cmake_ros',
    'ros-jazzy-ament-cmake-gmock': 'ament_cmake_gmock',
    'ros-jazzy-ament-cmake-gtest': 'ament_cmake_gtest',
    'ros-jazzy-ament-cmake-pytest': 'ament_cmake_pytest',
    'ros-jazzy-python-cmake-module': 'python_cmake_module',
}

# Python modules the CMake code runs that no wheel requires (pip name -> module).
REQUIRED_PYTHON_MODULES = {
    'ros-jazzy-ament-package': 'ament_package',
}

# Paths of the machine the wheels were built on, baked into their CMake exports.
BUILD_PYTHON_INCLUDE = '/opt/python/cp311-cp311/include/python3.11'
BUILD_NUMPY_INCLUDE = '/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include'


def local_include_dirs():
    """Return (python include dir, numpy include dir) of this interpreter."""
    import numpy

    return sysconfig.get_paths()['include'], numpy.get_include()


def cmake_export_files(prefix):
    return sorted(glob.glob(os.path.join(prefix, 'share', '*', 'cmake', '*.cmake')))


def apply(prefix):
    python_inc, numpy_inc = local_include_dirs()
    changed = 0
    for path in cmake_export_files(prefix):
        with open(path, encoding='utf-8') as f:
            text = f.read()
        fixed = text.replace(BUILD_NUMPY_INCLUDE, numpy_inc).replace(BUILD_PYTHON_INCLUDE, python_inc)
        if fixed != text:
            with open(path, 'w', encoding='utf-8') as f:
                f.write(fixed)
            changed += 1
    return changed


def check(prefix, environ=None):
    """Return a list of problems, each one sentence naming what is missing and how to fix it."""
    environ = os.environ if environ is None else environ
    problems = []
    for var in ('AMENT_PREFIX_PATH', 'CMAKE_PREFIX_PATH'):
        if prefix not in environ.get(var, '').split(os.pathsep):
            problems.append(f'{var} does not contain the environment prefix {prefix}; '
                            'source scripts/env.sh first')
    for pip_name, cmake_name in REQUIRED_CMAKE_PACKAGES.items():
        if not os.path.isdir(os.path.join(prefix, 'share', cmake_name, 'cmake')):
            problems.append(f'CMake package {cmake_name} is missing from {prefix}/share; '
                            f'install the wheel {pip_name}')
    for pip_name, module in REQUIRED_PYTHON_MODULES.items():
        if importlib.util.find_spec(module) is None:
            problems.append(f'Python module {module} is missing; install the wheel {pip_name}')
    python_inc, numpy_inc = local_include_dirs()
    if not os.path.isfile(os.path.join(python_inc, 'Python.h')):
        problems.append(f'Python headers not found at {python_inc}; install the python3-dev '
                        'package of this interpreter')
    stale = [p for p in cmake_export_files(prefix)
             if BUILD_PYTHON_INCLUDE in open(p, encoding='utf-8').read()
             or BUILD_NUMPY_INCLUDE in open(p, encoding='utf-8').read()]
    if stale:
        problems.append(f'{len(stale)} CMake export files still name the wheel build machine '
                        f'include dirs (first: {stale[0]}); run: python scripts/wheel_fixes.py '
                        f'apply {prefix}')
    return problems


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] not in ('apply', 'check'):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    action, prefix = argv[0], os.path.abspath(argv[1])
    if action == 'apply':
        print(f'wheel fixes: rewrote include paths in {apply(prefix)} CMake files')
        return 0
    problems = check(prefix)
    for problem in problems:
        print(f'error: {problem}', file=sys.stderr)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
