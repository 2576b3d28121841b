#!/usr/bin/env python3
# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Does a policy do the same through the graph as offline? One exported policy, the same seeds, both ways.

For each ``--contract`` (an exported policy: contract.yaml + ONNX model), the episodes on seeds
``--seed .. --seed + --episodes - 1`` are run
- offline: the ONNX model through the policy node's control loop in the Gymnasium env (``rlhf_policy.sim_rollout``),
- through the graph: the ``evaluate`` command (simulator node + policy node over DDS, real time), with
  ``--busy N`` processes spinning on the CPU meanwhile (0 = as the machine is),
and compared episode by episode: success rates, how many episodes ended the same way, the mean absolute
difference of the final task progress, and the policy node's missed ticks. Usage:

    python bench/graph_parity.py --contract runs/cpl/export/contract.yaml [--episodes 30] [--busy 0 2]
"""

import argparse
import multiprocessing
from pathlib import Path
import sys

from manipulation import evaluate_exported
import numpy as np


def offline(contract_path, args):
    """(success, final progress) per episode of the ONNX model through the control loop, without ROS."""
    from rlhf_policy.contract import PolicyContract
    from rlhf_policy.inference import OnnxPolicy
    from rlhf_policy.sim_rollout import rollout
    contract = PolicyContract.load(contract_path)
    policy = OnnxPolicy(contract.model_path(contract_path), contract, 'cpu')
    results = rollout(contract, policy.run, task=args.task, episodes=args.episodes, seed=args.seed,
                      max_steps=args.max_steps, loop_settings={'ramp_duration_s': args.ramp_duration_s},
                      progress=False)
    return [(r.success, r.final_progress) for r in results]


def spin():
    while True:
        pass


def graph(contract_path, args, busy):
    """(success, final progress) per episode through the graph, and the policy node's missed ticks."""
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(busy)]
    for p in spinners:
        p.start()
    try:
        report = evaluate_exported(contract_path, args.task, args.episodes, args.max_steps / 30.0,
                                   {'ramp_duration_s': args.ramp_duration_s}, seed=args.seed)
    finally:
        for p in spinners:
            p.terminate()
    return [(e['success'], e['final_progress']) for e in report['episodes']], report['info'].get('missed_ticks')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--contract', type=Path, nargs='+', required=True, help="exported policies' contract.yaml")
    parser.add_argument('--task', default='pick_place')
    parser.add_argument('--episodes', type=int, default=30)
    parser.add_argument('--seed', type=int, default=0, help='seed of the first episode')
    parser.add_argument('--max-steps', type=int, default=400, help='control ticks offline; / 30 Hz = graph timeout')
    parser.add_argument('--ramp-duration-s', type=float, default=0.034,
                        help="the policy's start-up ramp, both ways (the manipulation benches' one tick)")
    parser.add_argument('--busy', type=int, nargs='+', default=[0],
                        help='graph runs with this many busy processes beside them')
    args = parser.parse_args(argv)
    header = f'{"policy":<28} {"way":<10} {"success":>8} {"same end":>9} {"|d progress|":>13} {"missed":>7}'
    print(header)
    print('-' * len(header))
    for path in args.contract:
        ref = offline(path, args)
        name = path.parent.name
        print(f'{name:<28} {"offline":<10} {np.mean([s for s, _ in ref]):>8.2f}', flush=True)
        for busy in args.busy:
            rows, missed = graph(path, args, busy)
            same = sum(a[0] == b[0] for a, b in zip(ref, rows))
            diff = np.mean([abs(a[1] - b[1]) for a, b in zip(ref, rows)])
            print(f'{name:<28} {f"graph+{busy}":<10} {np.mean([s for s, _ in rows]):>8.2f} '
                  f'{f"{same}/{len(rows)}":>9} {diff:>13.3f} {missed if missed is not None else "-":>7}', flush=True)
    print(f'{args.episodes} episodes on seeds {args.seed}.., {args.task}; same end = episodes with the same outcome '
          'as offline; graph+N = through the graph with N busy processes beside it')
    return 0


if __name__ == '__main__':
    sys.exit(main())
