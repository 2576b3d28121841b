# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""``lerobot_export`` / ``lerobot_import``: recorded episodes to a LeRobot v3.0 dataset and back.

Examples::

    lerobot_export --data-dir data/demos --out datasets/panda_reach --fps 10 --task reach
    lerobot_import --dataset datasets/panda_reach --data-dir data/imported

Formats and the mapping of streams to features: ``rlhf_recorder/lerobot_format.py``.
"""

from __future__ import annotations

import argparse
import sys

from rlhf_recorder.catalog import OUTCOMES
from rlhf_recorder.lerobot_export import export_lerobot, select_episodes
from rlhf_recorder.lerobot_format import DTYPES, LeRobotFormatError
from rlhf_recorder.lerobot_import import import_lerobot
from rlhf_recorder.reader import EpisodeReadError


def _run(work) -> int:
    try:
        summary = work()
    except (LeRobotFormatError, EpisodeReadError, FileExistsError, FileNotFoundError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    for key, value in summary.items():
        if key != 'episode_ids':
            print(f'{key:>10}: {value}')
    return 0


def export_main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog='lerobot_export', description='Write recorded episodes as a LeRobot '
                                     'v3.0 dataset (parquet frames, one MP4 per camera, meta/).')
    parser.add_argument('--data-dir', default='data', help='recorder data directory (default: %(default)s)')
    parser.add_argument('--out', required=True, help='dataset directory to create (must not exist)')
    parser.add_argument('--fps', type=int, default=10, help='frames per second read from the bags (default: 10)')
    parser.add_argument('--task', default='', help='only episodes of this task (catalog filter)')
    parser.add_argument('--outcome', default='success', choices=[*OUTCOMES, ''],
                        help="only episodes with this outcome; '' = any (default: %(default)s)")
    parser.add_argument('--cameras', default=None, help='comma-separated cameras (default: every recorded one)')
    parser.add_argument('--dtype', default='float32', choices=DTYPES,
                        help='state and action dtype; float64 keeps the recorded commands bit for bit')
    parser.add_argument('--robot-type', default='franka_panda', help='info.json robot_type (default: %(default)s)')
    parser.add_argument('--no-progress', action='store_true')
    args = parser.parse_args(argv)
    cameras = [c for c in args.cameras.split(',') if c] if args.cameras is not None else None
    return _run(lambda: export_lerobot(select_episodes(args.data_dir, args.task, args.outcome), args.out,
                                       fps=args.fps, cameras=cameras, dtype=args.dtype, robot_type=args.robot_type,
                                       progress=not args.no_progress))


def import_main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog='lerobot_import', description='Write the episodes of a LeRobot v3.0 '
                                     'dataset as bags + catalog rows that training reads.')
    parser.add_argument('--dataset', required=True, help='LeRobot dataset directory (with meta/info.json)')
    parser.add_argument('--data-dir', default='data', help='recorder data directory to add to (default: data)')
    parser.add_argument('--outcome', default='success', choices=OUTCOMES,
                        help='outcome stored for episodes that carry none (default: %(default)s)')
    parser.add_argument('--no-progress', action='store_true')
    args = parser.parse_args(argv)
    return _run(lambda: import_lerobot(args.dataset, args.data_dir, outcome=args.outcome,
                                       progress=not args.no_progress))


if __name__ == '__main__':
    sys.exit(export_main())
