# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Lint this package as ament_flake8, ament_pep257 and ament_copyright would (see scripts/lint.py)."""

from pathlib import Path
import subprocess
import sys

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1]
LINT_SCRIPT = PACKAGE_DIR.parents[1] / 'scripts' / 'lint.py'


@pytest.mark.linter
def test_lint():
    result = subprocess.run([sys.executable, str(LINT_SCRIPT), str(PACKAGE_DIR)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
