# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Console scripts of rlhf_policy: the deployment graph, an evaluation through it, and an offline evaluation.

    deploy --contract runs/cpl/export/contract.yaml            # simulator + policy (Ctrl-C stops it)
    deploy --contract .../contract.yaml --sim false            # policy only, against the robot's topics
    evaluate --contract .../contract.yaml --episodes 20 --seed 1000 --output eval/cpl.json
    evaluate --contract .../contract.yaml --episodes 5 --record true --output-dir data/policy_episodes
    evaluate_offline --contract .../contract.yaml --episodes 50 --task pick_place --out eval/offline.json

``deploy`` and ``evaluate`` take the launch file's arguments (``rlhf_policy.graph.ARGUMENTS``) and start the same
graph as ``ros2 launch rlhf_policy deploy.launch.py``, one process per node; ``evaluate`` adds the evaluator node
and prints its report. ``evaluate_offline`` runs the policy's ONNX model in the simulation without ROS, through
the node's own control loop (``rlhf_policy.sim_rollout``); its report has the same rows and metrics.
"""

import argparse
import json
from pathlib import Path
import sys

from rlhf_common.graph import add_arguments
from rlhf_common.supervisor import run_graph
from rlhf_policy.contract import ContractError, PolicyContract
from rlhf_policy.episode_metrics import format_table, report_dict, write_report
from rlhf_policy.graph import ARGUMENTS, EVALUATE_ARGUMENTS, deploy_graph, evaluate_graph
from rlhf_policy.inference import ModelError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _start(prog, specs_of, args):
    try:
        specs = specs_of(args)
    except (ValueError, ContractError) as err:
        print(f'{prog}: {err}', file=sys.stderr)
        return None
    print(f'[{prog}] nodes: {", ".join(s.name for s in specs)}', flush=True)
    return specs


def deploy_main(argv=None):
    args = vars(add_arguments(argparse.ArgumentParser(
        prog='deploy', description='Run a policy on the simulator or the robot.'), ARGUMENTS).parse_args(argv))
    specs = _start('deploy', deploy_graph, args)
    if specs is None:
        return EXIT_BAD_INPUT
    try:
        codes = run_graph(specs)
    except FileNotFoundError as err:
        print(f'deploy: {err}', file=sys.stderr)
        return EXIT_BAD_INPUT
    if any(code != 0 for code in codes.values()):
        print(f'[deploy] exit codes: {codes}', file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def evaluate_main(argv=None):
    parser = argparse.ArgumentParser(prog='evaluate', description='Evaluate a policy in the simulator through the '
                                                                  'graph (simulator + policy node over DDS).')
    add_arguments(parser, ARGUMENTS, skip=('sim', 'start_in_estop'))
    args = vars(add_arguments(parser, EVALUATE_ARGUMENTS).parse_args(argv))
    specs = _start('evaluate', evaluate_graph, args)
    if specs is None:
        return EXIT_BAD_INPUT
    output = Path(specs[-1].parameters['output'])
    output.unlink(missing_ok=True)
    try:
        codes = run_graph(specs)
    except FileNotFoundError as err:
        print(f'evaluate: {err}', file=sys.stderr)
        return EXIT_BAD_INPUT
    if codes.get('evaluate') != 0 or not output.is_file():
        print(f'[evaluate] the evaluator failed (exit codes {codes}); no report', file=sys.stderr)
        return EXIT_FAILED
    print(format_table(json.loads(output.read_text())))
    print(f'[evaluate] report: {output}')
    return EXIT_OK


def evaluate_offline_main(argv=None):
    parser = argparse.ArgumentParser(prog='evaluate_offline', description='Roll a policy out in the simulation '
                                     'without ROS (success, completion time, smoothness, videos).')
    parser.add_argument('--contract', required=True, type=Path,
                        help='contract.yaml of an exported policy (its model_file is the ONNX model)')
    parser.add_argument('--task', default='pick_place', help='simulation task (default pick_place)')
    parser.add_argument('--episodes', type=int, default=50, help='number of seeded episodes (default 50)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the first episode (default 0)')
    parser.add_argument('--max-steps', type=int, default=300, help='control ticks per episode (default 300)')
    parser.add_argument('--video-dir', type=Path, default=None, help='write MP4s of the first episodes here')
    parser.add_argument('--video-episodes', type=int, default=2)
    parser.add_argument('--video-camera', default='scene_camera')
    parser.add_argument('--out', type=Path, default=None, help='write the report as JSON here')
    parser.add_argument('--no-progress', action='store_true')
    parser.add_argument('--actuation-delay-ticks', type=int, default=0,
                        help='commands reach the simulation this many control ticks late (default 0)')
    parser.add_argument('--camera-delay-ticks', type=int, default=0,
                        help='camera frames are this many control ticks older than the joint states (default 0)')
    args = parser.parse_args(argv)
    if args.episodes < 1 or args.max_steps < 1:
        parser.error(f'--episodes and --max-steps must be >= 1, got {args.episodes} and {args.max_steps}')
    for flag in ('actuation_delay_ticks', 'camera_delay_ticks'):
        if getattr(args, flag) < 0:
            parser.error(f'--{flag.replace("_", "-")} must be >= 0, got {getattr(args, flag)}')
    from rlhf_policy.inference import OnnxPolicy
    from rlhf_policy.sim_rollout import rollout
    try:
        contract = PolicyContract.load(args.contract)
        policy = OnnxPolicy(contract.model_path(args.contract), contract, provider='cpu')
    except (ContractError, ModelError) as err:
        print(f'evaluate_offline: {err}', file=sys.stderr)
        return EXIT_BAD_INPUT
    results = rollout(contract, policy.run, task=args.task, episodes=args.episodes, seed=args.seed,
                      max_steps=args.max_steps, video_dir=args.video_dir,
                      video_episodes=args.video_episodes if args.video_dir else 0, video_camera=args.video_camera,
                      progress=not args.no_progress, actuation_delay_ticks=args.actuation_delay_ticks,
                      camera_delay_ticks=args.camera_delay_ticks)
    info = {'task': args.task, 'first_seed': args.seed, 'max_steps': args.max_steps, 'offline': True,
            'actuation_delay_ticks': args.actuation_delay_ticks, 'camera_delay_ticks': args.camera_delay_ticks,
            'contract': str(args.contract)}
    report = write_report(args.out, results, info) if args.out is not None else report_dict(results, info)
    print(format_table(report))
    videos = [r.video for r in results if r.video]
    if videos:
        print('videos: ' + ', '.join(videos))
    if args.out is not None:
        print(f'report written to {args.out}')
    return EXIT_OK
