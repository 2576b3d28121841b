#!/usr/bin/env python3
# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Manipulation from demonstrations: today's single-step MLP vs the chunk policy, per task, observation, data size.

For every task x observation x demonstration count: the scripted expert (rlhf_sim.expert.ExpertController)
records successful demonstrations on seeds 1000, 1001, ... (cached under --cache-dir), both policies are trained
on them through the product's data path (rlhf_recorder Episode -> make_contract -> rlhf_policy.preprocess), and
each is rolled out on the same fixed evaluation seeds 0 .. --episodes-1 in the Gymnasium environment through
the policy node's control loop (rlhf_policy.sim_rollout: start-up ramp, limiter, chunk execution).

Observations: ``state`` = joints + object_position, target_position, end_effector_position (privileged task
state from the simulator); ``cameras`` = scene + wrist RGB (64x64) + joints + end_effector_position (forward
kinematics of the measured joints; no task state).

Policies: ``mlp`` = rlhf_training.bc (GaussianPolicy, the config defaults: NLL, hidden 256x256, 2000 steps,
single-step joint deltas of max_delta_rad); ``chunk`` = rlhf_training.chunk_bc (ChunkPolicy, horizon 20,
temporal ensembling, gripper threshold; images: ``--encoder``, default the config's spatial-softmax keypoints,
with random-shift augmentation; ``--history N``: observation history of N control ticks).

With ``--graph`` every trained policy is also exported (ONNX + contract) and evaluated through the graph on the
same seeds: the ``evaluate`` command of rlhf_policy.cli (simulator node + policy node over DDS, real time, each
episode a failure after --graph-timeout-s without success).

Prints one table (success rate and mean completion time of the successes, offline and through the graph,
training time, load average) and can write it as JSON. Usage:

    python bench/manipulation.py [--tasks pick_place stack insertion] [--observations state cameras]
        [--demos 25 50 100] [--policies mlp chunk] [--episodes 50] [--graph] [--json out.json]
"""

import argparse
import json
import os
from pathlib import Path
import subprocess
import sys
import tempfile
import time

import torch
from tqdm import tqdm

from rlhf_policy.chunking import ChunkExecution
from rlhf_training.bc import train_bc
from rlhf_training.checkpoint import chunk_build_info
from rlhf_training.chunk_bc import ChunkBCConfig, chunks_from_episodes, train_chunk_bc
from rlhf_training.config import BCConfig
from rlhf_training.data import episode_from_rollout, make_contract, transitions_from_episodes
from rlhf_training.models import ChunkPolicy, GaussianPolicy, observation_shapes

CAMERAS = ['scene_camera', 'wrist_camera']
OBSERVATIONS = {
    'state': {'cameras': [], 'state_features': ['object_position', 'target_position', 'end_effector_position']},
    'cameras': {'cameras': CAMERAS, 'state_features': ['end_effector_position']},
}
DEMO_SEED = 1000
MAX_STEPS = 400
QUIET = dict(resume=False, progress=False, export_onnx=False, checkpoint_every=10 ** 9, eval_every=10 ** 9,
             log_every=100, device='cpu')
RUNS = tempfile.TemporaryDirectory(prefix='manipulation_runs_')   # checkpoints and logs of the bench's trainings


def load_avg() -> float:
    return os.getloadavg()[0]


# ------------------------------------------------------------------------------------------ demos
def record_demo(env, expert, seed, cameras, done_ticks=None):
    """One expert episode as an rlhf_recorder Episode (commands, joints, task state and progress, images).

    It ends at success, at MAX_STEPS, or (with ``done_ticks``) that many ticks after the expert's script is done.
    """
    obs, info = env.reset(seed=seed)
    expert.reset()
    observations, commands, states, done_for = [], [], [], 0
    for _ in range(MAX_STEPS):
        command = expert.action(obs)
        observations.append(obs)
        commands.append(command)
        states.append(info['task_state'])
        obs, _, terminated, truncated, info = env.step(command)
        done_for += expert.expert.phase == 'done'
        if terminated or truncated or (done_ticks is not None and done_for > done_ticks):
            break
    from rlhf_common.robot import JOINT_NAMES
    episode = episode_from_rollout(observations, commands, env.control_hz, JOINT_NAMES, cameras=cameras,
                                   task_states=states, task_progress=[s.progress for s in states],
                                   metadata={'seed': seed})
    return episode, bool(info['success'])


def demonstrations(task, count, cameras, cache_dir: Path):
    """``count`` successful expert episodes (seeds from DEMO_SEED on), cached as pickles per task/cameras."""
    import pickle

    from rlhf_sim.env import ManipulationEnv
    from rlhf_sim.expert import ExpertController
    cache = cache_dir / f'{task}_{"cameras" if cameras else "state"}_{count}.pkl'
    if cache.is_file():
        return pickle.loads(cache.read_bytes())
    env = ManipulationEnv(task=task, cameras=tuple(cameras), depth=False, max_episode_steps=MAX_STEPS)
    expert = ExpertController(env)
    episodes, seed = [], DEMO_SEED
    with tqdm(total=count, desc=f'demos {task} {"cameras" if cameras else "state"}', dynamic_ncols=True) as bar:
        while len(episodes) < count:
            episode, success = record_demo(env, expert, seed, list(cameras))
            seed += 1
            if success:
                episodes.append(episode)
                bar.update(1)
    env.close()
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(episodes))
    return episodes


# ------------------------------------------------------------------------------------------ training
def train_mlp(episodes, observation, seed, steps):
    config = BCConfig(seed=seed, out_dir=tempfile.mkdtemp(dir=RUNS.name), steps=steps, **OBSERVATIONS[observation],
                      **QUIET)
    contract = make_contract(config, episodes)
    data = transitions_from_episodes(contract, episodes)
    torch.manual_seed(seed)
    policy = GaussianPolicy(observation_shapes(contract.observation), hidden_dims=config.hidden_dims)
    t0 = time.perf_counter()
    train_bc(policy, data, config)
    return policy.eval(), contract, time.perf_counter() - t0


def train_chunk(episodes, observation, seed, steps, horizon, encoder=ChunkBCConfig.encoder, history=1):
    images = bool(OBSERVATIONS[observation]['cameras'])
    config = ChunkBCConfig(seed=seed, out_dir=tempfile.mkdtemp(dir=RUNS.name), horizon=horizon, steps=steps,
                           batch_size=64 if images else 256, encoder=encoder, observation_history=history,
                           **OBSERVATIONS[observation], **QUIET)
    contract = make_contract(config, episodes)
    contract.chunk = ChunkExecution(horizon=horizon)
    data = chunks_from_episodes(contract, episodes)
    build = chunk_build_info(config, observation_shapes(contract.observation))
    torch.manual_seed(seed)
    policy = ChunkPolicy(observation_shapes(contract.observation),
                         **{k: v for k, v in build.items() if k not in ('kind', 'observation_shapes')})
    t0 = time.perf_counter()
    train_chunk_bc(policy, data, config)
    return policy.eval(), contract, time.perf_counter() - t0


# ------------------------------------------------------------------------------------------ rollouts
def offline_evaluation(policy, contract, task, episodes, loop_settings, actuation_delay_ticks=0):
    """rlhf_policy.sim_rollout: the policy node's control loop (ramp, limiter, chunk execution) without ROS."""
    from rlhf_policy.episode_metrics import summarise
    from rlhf_policy.sim_rollout import rollout
    results = rollout(contract, policy.runner(), task=task, episodes=episodes, seed=0, max_steps=MAX_STEPS,
                      loop_settings=loop_settings, progress=False, actuation_delay_ticks=actuation_delay_ticks)
    return summarise(results)


def graph_evaluation(policy, contract, task, episodes, timeout_s, loop_settings):
    """Export the policy and run rlhf_policy's ``evaluate`` (sim + policy node over DDS) on seeds 0 .. episodes-1.

    Returns the report's summary with the policy node's missed ticks over the run (``missed_ticks``).
    """
    from rlhf_training.export import export_policy
    with tempfile.TemporaryDirectory(prefix='manipulation_graph_') as tmp:
        export_policy(policy, contract, tmp)
        report = evaluate_exported(Path(tmp) / 'contract.yaml', task, episodes, timeout_s, loop_settings)
        return {**report['summary'], 'missed_ticks': report['info'].get('missed_ticks')}


def evaluate_exported(contract_path, task, episodes, timeout_s, loop_settings, seed=0):
    """The ``evaluate`` report (summary, episodes, info) of an exported policy on seeds seed .. seed+episodes-1."""
    with tempfile.TemporaryDirectory(prefix='manipulation_graph_') as tmp:
        report = Path(tmp) / 'evaluation.json'
        params = Path(tmp) / 'policy_params.yaml'   # the loop settings as the policy node's parameters
        params.write_text(json.dumps({'policy': {'ros__parameters': loop_settings}}))
        cmd = [sys.executable, '-c', 'import sys; from rlhf_policy.cli import evaluate_main; sys.exit(evaluate_main())',
               '--contract', str(contract_path), '--task', task, '--episodes', str(episodes),
               '--seed', str(seed), '--timeout-s', str(timeout_s), '--output', str(report), '--config', str(params)]
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if done.returncode != 0 or not report.is_file():
            raise RuntimeError(f'graph evaluation of {contract_path} failed ({done.returncode}):\n'
                               f'{done.stdout[-3000:]}')
        return json.loads(report.read_text())


# ------------------------------------------------------------------------------------------ main
def run_cell(task, observation, demos, policy_kind, args, cache_dir):
    cameras = OBSERVATIONS[observation]['cameras']
    episodes = demonstrations(task, max(args.demos), cameras, cache_dir)[:demos]
    if policy_kind == 'mlp':
        policy, contract, train_s = train_mlp(episodes, observation, args.seed, args.mlp_steps)
    else:
        steps = args.image_steps if cameras else args.state_steps
        policy, contract, train_s = train_chunk(episodes, observation, args.seed, steps, args.horizon, args.encoder,
                                                args.history)
    load_train = load_avg()
    loop_settings = {} if args.ramp_duration_s is None else {'ramp_duration_s': args.ramp_duration_s}
    offline = offline_evaluation(policy, contract, task, args.episodes, loop_settings)
    row = {'task': task, 'observation': observation, 'demos': demos, 'policy': policy_kind,
           'ramp_duration_s': args.ramp_duration_s, 'history': args.history if policy_kind == 'chunk' else 1,
           'episodes': offline['episodes'], 'success_rate': offline['success_rate'],
           'completion_time_s': offline['mean_completion_time_s'], 'train_s': train_s,
           'load_avg_train': load_train, 'load_avg_eval': load_avg(),
           'graph_success_rate': float('nan'), 'graph_completion_time_s': float('nan')}
    if args.graph and (not args.graph_demos or demos in args.graph_demos):
        summary = graph_evaluation(policy, contract, task, args.episodes, args.graph_timeout_s, loop_settings)
        time_s = summary['mean_completion_time_s']   # null in the report when nothing succeeded
        row.update(graph_success_rate=summary['success_rate'],
                   graph_completion_time_s=float('nan') if time_s is None else time_s, load_avg_graph=load_avg())
    return row


def print_table(rows):
    header = (f'{"task":<11} {"observation":<11} {"demos":>5} {"policy":<6} {"offline":>8} {"time s":>7} '
              f'{"graph":>6} {"time s":>7} {"train s":>8} {"load":>5}')
    print(header)
    print('-' * len(header))
    for r in rows:
        print(f'{r["task"]:<11} {r["observation"]:<11} {r["demos"]:>5} {r["policy"]:<6} '
              f'{r["success_rate"]:>8.2f} {r["completion_time_s"]:>7.2f} {r["graph_success_rate"]:>6.2f} '
              f'{r["graph_completion_time_s"]:>7.2f} {r["train_s"]:>8.0f} {r["load_avg_train"]:>5.1f}')
    print('success over the evaluation episodes (fixed seeds); time = mean completion time of the successes; '
          'load = 1-min load average during training')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--tasks', nargs='+', default=['pick_place', 'stack', 'insertion'])
    parser.add_argument('--observations', nargs='+', default=list(OBSERVATIONS), choices=list(OBSERVATIONS))
    parser.add_argument('--demos', nargs='+', type=int, default=[25, 50, 100])
    parser.add_argument('--policies', nargs='+', default=['mlp', 'chunk'], choices=['mlp', 'chunk'])
    parser.add_argument('--episodes', type=int, default=50, help='evaluation episodes (seeds 0 .. N-1)')
    parser.add_argument('--horizon', type=int, default=20)
    parser.add_argument('--mlp-steps', type=int, default=BCConfig.steps, help='single-step BC steps (config default)')
    parser.add_argument('--state-steps', type=int, default=3000, help='chunk BC steps with state observations')
    parser.add_argument('--image-steps', type=int, default=15000,
                        help='chunk BC steps with camera observations (14 min on a quiet 2-core machine)')
    parser.add_argument('--history', type=int, default=1,
                        help='observation history of the chunk policy (frames: this tick and N-1 before it)')
    parser.add_argument('--encoder', default=ChunkBCConfig.encoder,
                        help='image encoder of the chunk policy (cnn measured 0.62 where spatial_softmax gave 0.78)')
    parser.add_argument('--graph', action='store_true', help='also evaluate through the graph (sim + policy node)')
    parser.add_argument('--graph-demos', nargs='*', type=int, default=[],
                        help='with --graph: only these demonstration counts (default: all)')
    parser.add_argument('--graph-timeout-s', type=float, default=MAX_STEPS / 30.0)
    parser.add_argument('--ramp-duration-s', type=float, default=None,
                        help="the policy's start-up ramp (default: the node's, 1 s; chunk policies from these "
                             'demonstrations need about one tick, see the README)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads (more than 1 is slower on a busy 2-core machine)')
    parser.add_argument('--cache-dir', type=Path, default=Path('runs/manipulation_demos'))
    parser.add_argument('--json', type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for task in args.tasks:
        for observation in args.observations:
            for demos in args.demos:
                for policy_kind in args.policies:
                    rows.append(run_cell(task, observation, demos, policy_kind, args, args.cache_dir))
                    print(json.dumps(rows[-1]), flush=True)
    print()
    print_table(rows)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
