# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The ``collect`` console script: the collection graph without ``ros2 launch`` (the embedded default).

    collect --task pick_place --device expert --num-episodes 20 --output-dir data/demos

Options are the launch file's arguments (rlhf_teleop.graph.ARGUMENTS). The run ends when the teleop node
exits (after ``--num-episodes`` unattended episodes) or on Ctrl-C, and prints a summary of the episodes
this run saved.
"""

import argparse
import sys
import time

from rlhf_common.graph import add_arguments, resolve_arguments
from rlhf_common.supervisor import run_graph
from rlhf_teleop.graph import ARGUMENTS, collect_graph


def parser() -> argparse.ArgumentParser:
    return add_arguments(argparse.ArgumentParser(
        prog='collect', description='Collect demonstrations: simulator (or robot), teleop and recorder in one graph.'),
        ARGUMENTS)


def run_summary(output_dir: str, since_unix: float) -> dict:
    """Episodes of this run (started at or after ``since_unix``) from the recorder's catalog."""
    from rlhf_recorder.catalog import Catalog
    records = [r for r in Catalog(output_dir).list() if _unix(r.started_at) >= since_unix - 1.0]
    return {'episodes': len(records), 'success': sum(r.outcome == 'success' for r in records),
            'failure': sum(r.outcome == 'failure' for r in records),
            'incomplete': sum(r.outcome not in ('success', 'failure') for r in records),
            'ids': [r.episode_id for r in records]}


def _unix(started_at) -> float:
    if isinstance(started_at, (int, float)):
        return float(started_at)
    from datetime import datetime, timezone
    stamp = datetime.fromisoformat(str(started_at).replace('Z', '+00:00'))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.timestamp()


def main(argv=None) -> int:
    args = vars(parser().parse_args(argv))
    try:
        values = resolve_arguments(ARGUMENTS, args)
        specs = collect_graph(args)
    except ValueError as err:
        print(f'collect: {err}', file=sys.stderr)
        return 2
    print(f'[collect] nodes: {", ".join(s.name for s in specs)}; data in {values["output_dir"]}', flush=True)
    started = time.time()
    try:
        codes = run_graph(specs)
    except FileNotFoundError as err:
        print(f'collect: {err}', file=sys.stderr)
        return 2
    wall = time.time() - started
    summary = run_summary(values['output_dir'], started)
    print(f'[collect] done in {wall:.0f} s: {summary["episodes"]} episodes saved ({summary["success"]} success, '
          f'{summary["failure"]} failure, {summary["incomplete"]} incomplete) in {values["output_dir"]}/episodes',
          flush=True)
    failed = {name: code for name, code in codes.items() if code not in (0, -2, 130) and name != 'teleop'}
    if codes.get('teleop', 0) != 0 or failed:
        print(f'[collect] exit codes: {codes}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
