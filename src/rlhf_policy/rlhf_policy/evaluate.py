# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The ``evaluate`` console script: N episodes of a policy through the real graph (simulator + policy node).

    evaluate --contract runs/cpl/export/contract.yaml --episodes 20 --seed 1000 --output eval/cpl.json
    evaluate --contract .../contract.yaml --episodes 5 --record true --output-dir data/policy_episodes

Starts the deployment graph (rlhf_policy.graph, policy waiting for resume) plus the ``evaluate_node``,
which resets the simulator per episode and enables the policy; ends when the evaluator is done and
prints the table (also written as JSON to --output).
"""

import argparse
import json
from pathlib import Path
import sys

from rlhf_policy.contract import ContractError
from rlhf_policy.evaluation import format_table
from rlhf_policy.graph import ARGUMENTS, deploy_graph
from rlhf_teleop.graph import NodeSpec, run_graph

EVALUATE_OPTIONS = {
    'episodes': ('10', 'number of evaluation episodes'),
    'timeout_s': ('30.0', 'seconds without success before an episode counts as a failure'),
    'output': ('evaluation.json', 'JSON report (summary + one entry per episode)'),
    'note': ('', 'note stored with recorded episodes, e.g. the checkpoint'),
}


def parser():
    p = argparse.ArgumentParser(prog='evaluate', description='Evaluate a policy in the simulator through the graph.')
    for arg in ARGUMENTS:
        if arg.name not in ('sim', 'start_in_estop'):
            p.add_argument('--' + arg.name.replace('_', '-'), dest=arg.name, default=arg.default,
                           help=f'{arg.description} (default: {arg.default!r})')
    for name, (default, help_text) in EVALUATE_OPTIONS.items():
        p.add_argument('--' + name.replace('_', '-'), dest=name, default=default,
                       help=f'{help_text} (default: {default!r})')
    return p


def evaluate_graph(args):
    """Deployment graph (simulator, policy waiting for resume, optional recorder) + the evaluator node."""
    graph_args = {k: v for k, v in args.items() if k not in EVALUATE_OPTIONS}
    graph_args.update(sim='true', start_in_estop='true')
    specs = deploy_graph(graph_args)
    try:
        episodes, timeout_s = int(args['episodes']), float(args['timeout_s'])
    except ValueError:
        raise ValueError(f'--episodes / --timeout-s: expected a number, got {args["episodes"]!r} / '
                         f'{args["timeout_s"]!r}') from None
    if episodes < 1 or timeout_s <= 0:
        raise ValueError('--episodes must be >= 1 and --timeout-s > 0')
    record = str(args.get('record', 'false')).lower() in ('true', '1', 'yes', 'on')
    specs.append(NodeSpec('rlhf_policy', 'evaluate_node', 'evaluate', parameters={
        'episodes': episodes, 'seed': int(args.get('seed', 0)), 'task': str(args.get('task', '')),
        'timeout_s': timeout_s, 'output': str(Path(args['output']).resolve()), 'record': record,
        'note': str(args.get('note', ''))}))
    return specs


def main(argv=None):
    args = vars(parser().parse_args(argv))
    try:
        specs = evaluate_graph(args)
    except (ValueError, ContractError) as err:
        print(f'evaluate: {err}', file=sys.stderr)
        return 2
    output = Path(args['output']).resolve()
    output.unlink(missing_ok=True)
    print(f'[evaluate] nodes: {", ".join(s.name for s in specs)}; {args["episodes"]} episodes from seed '
          f'{args["seed"]}', flush=True)
    try:
        codes = run_graph(specs, until='evaluate')
    except FileNotFoundError as err:
        print(f'evaluate: {err}', file=sys.stderr)
        return 2
    if codes.get('evaluate') != 0 or not output.is_file():
        print(f'[evaluate] the evaluator failed (exit codes {codes}); no report', file=sys.stderr)
        return 1
    report = json.loads(output.read_text())
    print(format_table(report))
    print(f'[evaluate] report: {output}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
