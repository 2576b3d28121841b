# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Static checks of Python sources: ruff (flake8 + pep257 rules), copyright headers, and Humble compatibility.

Humble runs Python 3.10 and rclpy 3.3, so every file must parse as Python 3.10 and must not use
the Jazzy-only rclpy APIs listed in NOT_ON_HUMBLE below.

Usage: python scripts/lint.py PATH [PATH ...]    (files or folders)
"""

import ast
from pathlib import Path
import re
import subprocess
import sys

WORKSPACE = Path(__file__).resolve().parents[1]
COPYRIGHT = re.compile(r'^# Copyright \d{4} ')

# Names that exist on Jazzy or Python 3.11+ but not on Humble / Python 3.10 (except* is caught by
# parsing with feature_version=(3, 10)).
NOT_ON_HUMBLE = {
    'tomllib': 'tomllib is Python 3.11+',
    'Self': 'typing.Self is Python 3.11+',
    'qos_profile_best_available': 'qos_profile_best_available is Jazzy-only',
    'PushROSNamespace': 'PushROSNamespace is Jazzy-only; use PushRosNamespace',
}


def humble_problems(tree):
    """Yield (line, why) for uses of Python 3.11+ or Jazzy-only APIs."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ''] + [alias.name for alias in node.names]
        elif isinstance(node, ast.Attribute):
            names = [node.attr]
        elif isinstance(node, ast.Call) and any(kw.arg == 'autostart' for kw in node.keywords):
            yield node.lineno, 'create_timer(autostart=) is Jazzy-only'
            continue
        else:
            continue
        for name in names:
            if name in NOT_ON_HUMBLE:
                yield node.lineno, NOT_ON_HUMBLE[name]


def python_files(paths):
    for path in map(Path, paths):
        if path.is_file():
            yield path
        else:
            yield from (p for p in sorted(path.rglob('*.py'))
                        if not any(part in {'build', 'install', 'log', '.venv'} or part.startswith('.')
                                   for part in p.relative_to(path).parts))


def check_file(path):
    """Return problems of one file as 'path:line: message' strings."""
    text = path.read_text(encoding='utf-8')
    problems = []
    lines = text.splitlines()
    first = lines[1] if lines and lines[0].startswith('#!') and len(lines) > 1 else (lines or [''])[0]
    if text.strip() and not COPYRIGHT.match(first):
        problems.append(f'{path}:1: missing "# Copyright <year> ..." header')
    try:
        tree = ast.parse(text, filename=str(path), feature_version=(3, 10))
    except SyntaxError as err:
        return problems + [f'{path}:{err.lineno}: does not parse as Python 3.10: {err.msg}']
    problems += [f'{path}:{line}: {why}' for line, why in humble_problems(tree)]
    return problems


def main(argv=None):
    paths = (sys.argv[1:] if argv is None else argv) or [str(WORKSPACE)]
    files = list(python_files(paths))
    problems = [p for f in files for p in check_file(f)]
    for problem in problems:
        print(problem)
    ruff = subprocess.run([sys.executable, '-m', 'ruff', 'check', '--quiet', '--no-cache',
                           '--config', str(WORKSPACE / 'pyproject.toml'), *map(str, files)])
    ok = not problems and ruff.returncode == 0
    print(f'lint: {len(files)} files, {len(problems)} header/compatibility problems, '
          f'ruff {"clean" if ruff.returncode == 0 else "found problems"}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
