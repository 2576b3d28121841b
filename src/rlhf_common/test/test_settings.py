# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The one settings loader: YAML file, key=value overrides, typed fields, errors that name the file and the key."""

from dataclasses import dataclass, field

import pytest

from rlhf_common.settings import SettingsError, load_settings, parse_override, read_mapping


@dataclass
class Example:
    steps: int = 10
    lr: float = 3e-4
    name: str = 'run'
    cameras: list[str] = field(default_factory=lambda: ['scene_camera'])
    enabled: bool = True


def test_file_then_overrides_then_values(tmp_path):
    path = tmp_path / 'example.yaml'
    path.write_text('steps: 20\nlr: 1e-4\ncameras: [a, b]\n')
    loaded = load_settings(Example, path, ['name=second', 'steps=30'], enabled=False)
    assert loaded == Example(steps=30, lr=1e-4, name='second', cameras=['a', 'b'], enabled=False)
    assert load_settings(Example) == Example()
    assert load_settings(Example, overrides=['lr=1']).lr == 1.0     # an int where a float is expected
    assert parse_override('cameras=[]') == ('cameras', []) and parse_override('name=') == ('name', '')


@pytest.mark.parametrize('content, message', [
    ('stpes: 3\n', "example.yaml: unknown key 'stpes'; valid keys: steps, lr, name, cameras, enabled"),
    ('steps: three\n', "example.yaml: steps must be int, got 'three'"),
    ('steps: true\n', 'example.yaml: steps must be int, got True'),
    ('[1, 2]\n', 'example.yaml: expected a mapping'),
    ('steps: [unclosed\n', 'example.yaml: not valid YAML'),
])
def test_errors_name_the_file_and_the_key(tmp_path, content, message):
    path = tmp_path / 'example.yaml'
    path.write_text(content)
    with pytest.raises(SettingsError) as err:
        load_settings(Example, path)
    assert message in str(err.value)


def test_missing_file_and_bad_override(tmp_path):
    with pytest.raises(SettingsError, match='does not exist'):
        read_mapping(tmp_path / 'absent.yaml')
    with pytest.raises(SettingsError, match='is not key=value'):
        load_settings(Example, overrides=['steps'])
