# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""``episodes``: list and filter the episode catalog, or show one episode.

Examples::

    episodes --data-dir data list --task pick_place --outcome success --sim
    episodes --data-dir data show 20261121T101500_pick_place_0003
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys

from rich.console import Console
from rich.table import Table

from rlhf_recorder.catalog import CATALOG_FILE, OUTCOMES, STATUSES, Catalog


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='episodes', description='List and inspect recorded episodes.')
    parser.add_argument('--data-dir', default='data', help='recorder data directory (default: %(default)s)')
    sub = parser.add_subparsers(dest='command')
    lister = sub.add_parser('list', help='list episodes as a table (default command)')
    lister.add_argument('--task')
    lister.add_argument('--outcome', choices=OUTCOMES)
    lister.add_argument('--status', choices=STATUSES)
    lister.add_argument('--device')
    kind = lister.add_mutually_exclusive_group()
    kind.add_argument('--sim', dest='is_sim', action='store_true', default=None, help='simulation only')
    kind.add_argument('--real', dest='is_sim', action='store_false', help='real robot only')
    lister.add_argument('--json', action='store_true', help='print JSON lines instead of a table')
    show = sub.add_parser('show', help="one episode's catalog entry and bag contents")
    show.add_argument('episode_id')
    return parser


def _list(catalog: Catalog, args, console: Console) -> int:
    records = catalog.list(task=args.task, outcome=args.outcome, device=args.device, is_sim=args.is_sim,
                           status=args.status)
    if args.json:
        for record in records:
            print(json.dumps(record.to_dict(), sort_keys=True))
        return 0
    table = Table(title=f'{len(records)} episodes in {catalog.path}')
    for column in ('episode', 'task', 'outcome', 'status', 'duration s', 'sim', 'device', 'operator', 'seed',
                   'started (UTC)'):
        table.add_column(column)
    for r in records:
        table.add_row(r.episode_id, r.task, r.outcome, r.status, f'{r.duration_s:.1f}', 'sim' if r.is_sim else 'real',
                      r.device, r.operator_name, str(r.seed), r.started_at)
    console.print(table)
    return 0


def _show(catalog: Catalog, args, console: Console) -> int:
    from rlhf_recorder.reader import EpisodeReadError, episode_info

    try:
        record = catalog.get(args.episode_id)
    except KeyError as err:
        console.print(f'[red]{err.args[0]}[/red]')
        return 1
    table = Table(title=f'episode {record.episode_id}', show_header=False)
    for key, value in record.to_dict().items():
        if key != 'message_counts':
            table.add_row(key, str(value))
    console.print(table)
    try:
        info = episode_info(record.path)
    except (EpisodeReadError, FileNotFoundError, ValueError) as err:
        console.print(f'[yellow]bag not readable: {err}[/yellow]')
        return 0
    topics = Table(title=f'bag {record.path}: {info["duration_s"]:.2f} s, {info["message_count"]} messages')
    for column in ('topic', 'type', 'messages', 'mean rate Hz'):
        topics.add_column(column)
    for topic, msgtype in sorted(info['topics'].items()):
        count = info['counts'][topic]
        rate = (count - 1) / info['duration_s'] if count > 1 and info['duration_s'] > 0 else 0.0
        topics.add_row(topic, msgtype, str(count), f'{rate:.1f}')
    console.print(topics)
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    console = Console(width=200)
    if not (Path(args.data_dir).expanduser() / CATALOG_FILE).is_file():
        console.print(f'[red]{Path(args.data_dir) / CATALOG_FILE}: no episode catalog (is --data-dir right?)[/red]')
        return 1
    catalog = Catalog(args.data_dir)
    if args.command == 'show':
        return _show(catalog, args, console)
    if args.command is None:
        args = _parser().parse_args([*(argv if argv is not None else sys.argv[1:]), 'list'])
    return _list(catalog, args, console)


if __name__ == '__main__':
    sys.exit(main())
