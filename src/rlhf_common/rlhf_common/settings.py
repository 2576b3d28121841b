# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Settings of the workspace's tools: a dataclass of typed, documented defaults, read from YAML plus ``key=value``.

One loader for every tool's configuration (training configs, the preference tools, the main job): a YAML file
(a mapping of keys of the dataclass), then ``key=value`` overrides (values parsed as YAML), then keyword values.
Unknown keys and values of the wrong type are ``SettingsError``s that name the file and the key (and list the valid
keys), raised before any work starts. (ROS nodes are configured by ROS parameters instead: ``rlhf_common.node``.)
"""

from dataclasses import fields
from pathlib import Path
import typing

import yaml


class SettingsError(ValueError):
    """A configuration file or override that cannot be used (names the file and the key)."""


def read_mapping(path) -> dict:
    """The YAML mapping in ``path`` (empty file: {}); SettingsError naming the file otherwise."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding='utf-8')) or {}
    except FileNotFoundError:
        raise SettingsError(f'config file {path} does not exist') from None
    except OSError as err:
        raise SettingsError(f'{path}: cannot read ({err.strerror})') from None
    except yaml.YAMLError as err:
        raise SettingsError(f'{path}: not valid YAML: {err}') from None
    if not isinstance(data, dict):
        raise SettingsError(f'{path}: expected a mapping of key: value, got {type(data).__name__}')
    return data


def parse_override(text: str) -> tuple[str, object]:
    """``key=value`` -> (key, value parsed as YAML; '' for an empty value)."""
    if '=' not in text:
        raise SettingsError(f'override {text!r} is not key=value')
    key, raw = text.split('=', 1)
    try:
        return key.strip(), yaml.safe_load(raw) if raw.strip() else ''
    except yaml.YAMLError as err:
        raise SettingsError(f'override {text!r}: the value is not valid YAML ({err})') from None


def check_value(name, value, annotation, where):
    """``value`` as the field's type: ints for floats, tuples for lists, numbers written as strings ('1e-4').

    ``X | None`` fields take None or a value of X.
    """
    args = typing.get_args(annotation)
    if type(None) in args:
        if value is None:
            return None
        annotation = next(a for a in args if a is not type(None))
    origin = typing.get_origin(annotation) or annotation
    if origin is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin is list and isinstance(value, tuple):
        value = list(value)
    if origin is float and isinstance(value, str):
        try:
            return float(value)  # YAML reads 1e-4 (no dot) as a string
        except ValueError:
            pass
    ok = isinstance(value, origin) and not (origin in (int, float) and isinstance(value, bool))
    if not ok:
        raise SettingsError(f'{where}: {name} must be {getattr(origin, "__name__", origin)}, got {value!r}')
    return value


def make_settings(cls, values: dict, where: str = 'config'):
    """``cls(**values)`` with every key known and every value of its field's type (SettingsError otherwise)."""
    hints = typing.get_type_hints(cls)
    valid = [f.name for f in fields(cls)]
    checked = {}
    for key, value in values.items():
        if key not in hints:
            raise SettingsError(f'{where}: unknown key {key!r}; valid keys: {", ".join(valid)}')
        checked[key] = check_value(key, value, hints[key], where)
    try:
        return cls(**checked)
    except SettingsError as err:   # a dataclass's own checks of its values (__post_init__)
        raise SettingsError(f'{where}: {err}') from None


def settings_values(path=None, overrides=(), **values) -> tuple[dict, str]:
    """(the YAML file's mapping, then the overrides and ``values`` applied on top; where they came from)."""
    data = read_mapping(path) if path is not None else {}
    for item in overrides:
        key, value = parse_override(item)
        data[key] = value
    data.update(values)
    return data, str(path) if path is not None else 'config'


def load_settings(cls, path=None, overrides=(), **values):
    """A ``cls`` instance: its defaults, the YAML file ``path``, ``key=value`` overrides, keyword values."""
    data, where = settings_values(path, overrides, **values)
    return make_settings(cls, data, where)
