# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""What the package's commands share on their command line: ``--config FILE`` (the settings of ``config``)."""

import argparse

from rlhf_preference.config import load_config


def parser_with_config(description, args=None) -> tuple[argparse.ArgumentParser, dict]:
    """A command's parser, with ``--config FILE`` added, and the settings of that file.

    The file is read before the other flags are declared, so that its settings become their defaults (flags win).
    """
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument('--config')
    config = load_config(pre.parse_known_args(args)[0].config)
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--config', help='YAML settings (see config/preference.yaml)')
    return parser, config
