# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The ``deploy`` console script: the deployment graph without ``ros2 launch`` (the embedded default).

    deploy --contract runs/cpl/export/contract.yaml            # simulator + policy
    deploy --contract .../contract.yaml --sim false            # policy only, against the robot's topics

Options are the launch file's arguments (rlhf_policy.graph.ARGUMENTS). Runs until Ctrl-C or until the
policy node exits.
"""

import argparse
import sys

from rlhf_policy.contract import ContractError
from rlhf_policy.graph import ARGUMENTS, deploy_graph
from rlhf_teleop.graph import run_graph


def parser():
    p = argparse.ArgumentParser(prog='deploy', description='Run a policy on the simulator or the robot.')
    for arg in ARGUMENTS:
        p.add_argument('--' + arg.name.replace('_', '-'), dest=arg.name, default=arg.default,
                       help=f'{arg.description} (default: {arg.default!r})')
    return p


def main(argv=None):
    args = vars(parser().parse_args(argv))
    try:
        specs = deploy_graph(args)
    except (ValueError, ContractError) as err:
        print(f'deploy: {err}', file=sys.stderr)
        return 2
    print(f'[deploy] nodes: {", ".join(s.name for s in specs)}', flush=True)
    try:
        codes = run_graph(specs, until='policy')
    except FileNotFoundError as err:
        print(f'deploy: {err}', file=sys.stderr)
        return 2
    bad = {name: code for name, code in codes.items() if code not in (0, -2, 130)}
    if bad:
        print(f'[deploy] exit codes: {codes}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
