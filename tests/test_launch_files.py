# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Launch files are valid Python 3.10 and the top-level one includes launch files that exist.

`ros2 launch` is not installable on the embedded default, so the packages test their launch files against
their graph descriptions; this checks the top-level composition.
"""

import ast
from pathlib import Path

WS = Path(__file__).resolve().parents[1]


def test_system_launch_includes_existing_package_launch_files():
    tree = ast.parse((WS / 'launch' / 'system.launch.py').read_text(), feature_version=(3, 10))
    modes = next(node.value for node in tree.body
                 if isinstance(node, ast.Assign) and node.targets[0].id == 'MODES')
    included = ast.literal_eval(modes)
    assert set(included) == {'collect', 'deploy'}
    for package, file in included.values():
        assert (WS / 'src' / package / 'launch' / file).is_file(), f'{package}/launch/{file} is missing'


def test_every_launch_file_parses_as_python_310():
    files = list(WS.glob('launch/*.launch.py')) + list(WS.glob('src/*/launch/*.launch.py'))
    assert len(files) >= 3
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path), feature_version=(3, 10))
        names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        assert 'generate_launch_description' in names, f'{path}: no generate_launch_description()'
