# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Reading the package's JSON files (pairs file, preference file) with errors that name the file."""

import json
from pathlib import Path


def read_json(path: Path, error: type[Exception]):
    """The document in ``path``; raises ``error`` when the file is missing or not JSON."""
    try:
        return json.loads(path.read_text(encoding='utf-8'))
    except FileNotFoundError:
        raise error(f'{path}: no such file') from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise error(f'{path}: not valid JSON ({err})') from None
