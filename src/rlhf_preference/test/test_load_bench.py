# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""bench/annotation_load.py, shortened, on SQLite and on a real PostgreSQL server.

Annotators label, the server is killed -9 mid-run and restarted, and the bench's own checks (nothing lost,
nothing duplicated, quotas kept) must pass.
"""

from pathlib import Path
import re
import subprocess
import sys

import pytest

BENCH = Path(__file__).resolve().parents[3] / 'bench' / 'annotation_load.py'


@pytest.mark.parametrize('backend', ['sqlite', 'postgresql'])
def test_annotation_load_bench_passes_its_checks(backend):
    result = subprocess.run([sys.executable, str(BENCH), '--backend', backend, '--annotators', '6', '--duration', '6',
                             '--pairs', '300'], capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and 'result: PASS' in output, output
    assert re.search(rf'^database +\| {backend}$', output, re.M)
    assert re.search(r'^acknowledged labels lost +\| 0$', output, re.M)
    assert re.search(r'^labels acknowledged before kill -9 / in total +\| [1-9]', output, re.M)
