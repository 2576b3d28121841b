#!/usr/bin/env python3
# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Preferences on pick-and-place with action-chunk policies: a careful and a sloppy operator (issue 14).

1. Demonstrations: on every scene (reset seeds 1000, 1001, ...) a careful operator (rlhf_sim.expert's
   ExpertController) and a sloppy one who puts the cube down --aim-offset off the zone's centre each make one
   attempt with a noisy hand (--demo-noise). --observation state: joints, object, target, end effector;
   cameras: scene + wrist RGB, joints, end effector (bench/manipulation.py's OBSERVATIONS). An attempt ends at
   success, or a few ticks after the operator's script is done.
2. Chunk BC (bench/manipulation.py's ``train_chunk``: horizon 20, temporal ensembling) on all attempts: it learns
   the average of the two operators.
3. Pairs: windows of --segment-length ticks every --segment-stride ticks that start at the same tick of the two
   attempts at one scene, labelled by the simulator's task progress gained over the window (success = 1); pairs
   whose gains differ by less than --min-gap are ties (label 0.5: both attempts did the same, as in the approach
   and the grasp, which the operators share). A --val-fraction of the scenes is held out.
4. From the BC policy, each for --ft-steps at lr 1e-4 and keeping BC's target statistics: "BC + more steps"
   (chunk BC on all attempts), "SFT" (chunk BC on the preferred windows, both windows of a tie) and "CPL"
   (rlhf_training.cpl with the chunk's squared error as log pi; lambda --lam, alpha --alpha, --conservative-weight,
   32 pairs a step), optionally "CPL-BC" (--bc-weight).
5. Every policy is rolled out on the same seeds 0 .. --eval-episodes-1 through the policy node's control loop
   (rlhf_policy.sim_rollout, one-tick start ramp as in the manipulation bench); the --graph-policies of the
   --graph-seeds also through the graph (simulator node + policy node over DDS, real time).

Prints per training seed and overall: success rate, mean completion time, held-out agreement (the chunk's
squared error ranks the windows like the labels) and how far the executed chunk moved from BC's on the held-out
windows (RMS, standardised units). Usage:

    python bench/cpl_manipulation.py [--scenes 40] [--seeds 0 1 2 3] [--eval-episodes 50] [--json out.json]
    python bench/cpl_manipulation.py --merge a.json b.json     # one table over runs split across processes
    python bench/cpl_manipulation.py --observation cameras --scenes 50 --seeds 0 1 --graph-seeds 0 1

Runs side by side need their own ROS_DOMAIN_ID each (their graphs would otherwise see each other).
"""

import argparse
import copy
import json
from pathlib import Path
import sys
import time

from manipulation import (
    MAX_STEPS,
    OBSERVATIONS,
    QUIET,
    RUNS,
    graph_evaluation,
    load_avg,
    offline_evaluation,
    record_demo,
    train_chunk,
)
import numpy as np
import torch
from tqdm import tqdm

from rlhf_training.chunk_bc import ChunkBCConfig, chunks_from_episodes, train_chunk_bc
from rlhf_training.config import CPLConfig
from rlhf_training.cpl import policy_output, policy_preference_accuracy, train_cpl
from rlhf_training.data import episode_arrays, window_rows
from rlhf_training.datasets import SegmentPairDataset, TransitionRows
from rlhf_training.models import flatten_time

DEMO_SEED = 1000
DONE_TICKS = 10   # ticks recorded after the operator's script is done (the hand retreated)
LOOP = {'ramp_duration_s': 0.034}


# ------------------------------------------------------------------------------------------ demonstrations
def demonstrations(args):
    """[(careful, sloppy)] attempts per scene, cached: the two operators on the same reset seeds."""
    import pickle

    from rlhf_sim.env import ManipulationEnv
    from rlhf_sim.expert import ExpertController
    cameras = OBSERVATIONS[args.observation]['cameras']
    key = f'{args.task}_{args.scenes}_{args.demo_noise:g}_{"_".join(f"{v:g}" for v in args.aim_offset)}'
    cache = args.cache_dir / f'operators_{key}{"_cameras" if cameras else ""}.pkl'
    if cache.is_file():
        return pickle.loads(cache.read_bytes())
    env = ManipulationEnv(task=args.task, cameras=tuple(cameras), depth=False, max_episode_steps=MAX_STEPS)
    scenes, successes = [], np.zeros(2)
    for i in tqdm(range(args.scenes), desc='demonstrations', dynamic_ncols=True):
        seed = DEMO_SEED + i
        pair = []
        for k, offset in enumerate([(0.0, 0.0, 0.0), args.aim_offset]):
            operator = ExpertController(env, noise=args.demo_noise, seed=seed * 2 + k, aim_offset=offset)
            episode, success = record_demo(env, operator, seed, cameras, done_ticks=DONE_TICKS)
            pair.append(episode)
            successes[k] += success
        scenes.append(tuple(pair))
    env.close()
    print(f'demonstrations: careful {successes[0]:.0f}/{args.scenes} successful, sloppy {successes[1]:.0f}/'
          f'{args.scenes}', flush=True)
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(scenes))
    return scenes


# ------------------------------------------------------------------------------------------ preferences
def gain(episode, start, end):
    """Task progress gained over ticks [start, end) (the last tick's progress minus the first's)."""
    progress = episode.task_progress
    return float(progress[min(end, len(progress)) - 1] - progress[start])


def window_pairs(contract, scenes, args):
    """Same-tick windows of the two attempts at each scene, labelled by progress gained.

    Returns the SegmentPairDataset (windows read every --tick-stride ticks) and the preferred windows, both of a
    tie, as (episode, start_s, end_s).
    """
    segments, pairs, labels, preferred = [], [], [], []
    length, rate, every = args.segment_length, contract.rate_hz, args.tick_stride
    for careful, sloppy in scenes:
        n = min(len(careful.times), len(sloppy.times))
        for start in range(0, n - length + 1, args.segment_stride):
            gains = gain(careful, start, start + length), gain(sloppy, start, start + length)
            for episode in (careful, sloppy):
                obs, actions = episode_arrays(contract, episode, start / rate, (start + length) / rate)
                segments.append(({k: v[::every] for k, v in obs.items()}, actions[::every]))
            pairs.append((len(segments) - 2, len(segments) - 1))
            labels.append(0.5 if abs(gains[0] - gains[1]) < args.min_gap else float(gains[0] > gains[1]))
            winners = (careful, sloppy) if labels[-1] == 0.5 else (careful if labels[-1] else sloppy,)
            preferred += [(episode, start / rate, (start + length) / rate) for episode in winners]
    if all(label == 0.5 for label in labels):
        raise SystemExit('no pair of windows differs in progress: raise --aim-offset or lower --min-gap')
    return SegmentPairDataset(segments, pairs, labels), preferred


@torch.no_grad()
def chunk_change(policy, reference, dataset):
    """RMS change of the executed chunk (standardised units) over the dataset's windows."""
    flat, _ = flatten_time({k: torch.as_tensor(v) for k, v in dataset.observations.items()})
    valid = torch.as_tensor(dataset.mask).reshape(-1) > 0
    policy.eval()
    diff = policy_output(policy, flat)[0] - policy_output(reference, flat)[0]
    return float(diff[valid].pow(2).mean().sqrt())


# ------------------------------------------------------------------------------------------ fine-tuning
def fine_tune_bc(policy, data, args, seed):
    images = bool(OBSERVATIONS[args.observation]['cameras'])
    config = ChunkBCConfig(seed=seed, out_dir=str(Path(RUNS.name) / f'ft_{time.monotonic_ns()}'),
                           horizon=policy.horizon, steps=args.ft_steps, lr=1e-4, batch_size=64 if images else 256,
                           **OBSERVATIONS[args.observation], **QUIET)
    train_chunk_bc(policy, data, config, fit_statistics=False)    # BC's statistics: no jump before the first step
    return policy.eval()


def fine_tune_cpl(policy, reference, pairs, args, seed, bc_weight=0.0):
    # alpha is per control tick: a window read every --tick-stride ticks keeps the advantage's scale
    config = CPLConfig(seed=seed, out_dir=str(Path(RUNS.name) / f'cpl_{time.monotonic_ns()}'),
                       steps=args.ft_steps, batch_size=args.cpl_batch, likelihood='squared_error', lam=args.lam,
                       alpha=args.alpha * args.tick_stride,
                       conservative_weight=args.conservative_weight, bc_weight=bc_weight, **QUIET)
    train_cpl(policy, pairs, config, reference=reference)
    return policy.eval()


def run_seed(scenes, args, seed):
    n_val = max(1, int(round(len(scenes) * args.val_fraction)))
    order = np.random.default_rng(seed).permutation(len(scenes))
    train_scenes = [scenes[i] for i in order[n_val:]]
    val_scenes = [scenes[i] for i in order[:n_val]]
    attempts = [episode for pair in train_scenes for episode in pair]
    t0 = time.perf_counter()
    bc, contract, _ = train_chunk(attempts, args.observation, seed, args.bc_steps, args.horizon)
    print(f'[seed {seed}] BC trained in {time.perf_counter() - t0:.0f} s', flush=True)
    (train_pairs, preferred), (val_pairs, _) = (window_pairs(contract, s, args) for s in (train_scenes, val_scenes))
    print(f'[seed {seed}] {len(train_pairs)} training pairs, {len(val_pairs)} held out', flush=True)
    policies = {'BC': bc}
    attempt_chunks = chunks_from_episodes(contract, attempts)
    policies['BC + more steps'] = fine_tune_bc(copy.deepcopy(bc), attempt_chunks, args, seed)
    # a tick is in up to segment_length / segment_stride preferred windows: rows of attempt_chunks, not copies
    sft_rows = TransitionRows(attempt_chunks, window_rows(attempts, preferred))
    policies['SFT'] = fine_tune_bc(copy.deepcopy(bc), sft_rows, args, seed)
    del attempt_chunks, sft_rows     # GBs of camera frames: not kept through CPL and the rollouts
    policies['CPL'] = fine_tune_cpl(copy.deepcopy(bc), bc, train_pairs, args, seed)
    if args.bc_weight > 0:
        policies['CPL-BC'] = fine_tune_cpl(copy.deepcopy(bc), bc, train_pairs, args, seed, args.bc_weight)
    rows = []
    for name, policy in policies.items():
        summary = offline_evaluation(policy, contract, args.task, args.eval_episodes, LOOP,
                                     args.actuation_delay_ticks)
        agreement = policy_preference_accuracy(policy, val_pairs, likelihood='squared_error')['accuracy']
        rows.append({'seed': seed, 'policy': name, 'success_rate': summary['success_rate'],
                     'completion_time_s': summary['mean_completion_time_s'],
                     'final_progress': summary['mean_final_progress'], 'agreement': agreement,
                     'chunk_change': chunk_change(policy, bc, val_pairs), 'load_avg': load_avg(),
                     'graph_success_rate': float('nan')})
        if seed in args.graph_seeds and name in args.graph_policies:
            graph = graph_evaluation(policy, contract, args.task, args.eval_episodes, MAX_STEPS / 30.0, LOOP)
            rows[-1].update(graph_success_rate=graph['success_rate'], graph_missed_ticks=graph['missed_ticks'],
                            load_avg_graph=load_avg())
        print(json.dumps(rows[-1]), flush=True)
    return rows


def mean_of_finite(values):
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float('nan')


def print_table(rows, names):
    header = (f'{"policy":<16} {"success":>8} {"per seed":<24} {"graph":>6} {"per seed":<24} {"time s":>7} '
              f'{"progress":>9} {"agree":>6} {"change":>7}')
    print(header)
    print('-' * len(header))
    for name in names:
        mine = [r for r in rows if r['policy'] == name]
        offline = [r['success_rate'] for r in mine]
        graph = [r['graph_success_rate'] for r in mine if np.isfinite(r['graph_success_rate'])]
        print(f'{name:<16} {np.mean(offline):>8.2f} {" ".join(f"{v:.2f}" for v in offline):<24} '
              f'{mean_of_finite(graph):>6.2f} {" ".join(f"{v:.2f}" for v in graph):<24} '
              f'{mean_of_finite([r["completion_time_s"] for r in mine]):>7.2f} '
              f'{np.mean([r["final_progress"] for r in mine]):>9.2f} {np.mean([r["agreement"] for r in mine]):>6.2f} '
              f'{np.mean([r["chunk_change"] for r in mine]):>7.3f}')
    print('success over the evaluation seeds (offline control loop; graph = simulator node + policy node over DDS, '
          'on the --graph-seeds); time = mean completion time of the successes; agree = held-out '
          'pairs ranked like the labels by the chunk\'s squared error; change = RMS change of the executed chunk '
          'from BC\'s on the held-out windows (standardised units)')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--task', default='pick_place', choices=['pick_place', 'stack', 'insertion'])
    parser.add_argument('--scenes', type=int, default=40, help='scenes, each attempted by both operators')
    parser.add_argument('--observation', default='state', choices=list(OBSERVATIONS),
                        help="the policies' observation (bench/manipulation.py's OBSERVATIONS)")
    parser.add_argument('--aim-offset', type=float, nargs=3, default=[0.0, 0.07, 0.0],
                        help="the sloppy operator's error (m, world frame) where it puts the cube down")
    parser.add_argument('--demo-noise', type=float, default=0.02, help="both operators' hand noise")
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2, 3])
    parser.add_argument('--eval-episodes', type=int, default=50)
    parser.add_argument('--horizon', type=int, default=20)
    parser.add_argument('--bc-steps', type=int, default=None,
                        help='chunk BC steps (default: 3000 on state, 12000 on cameras)')
    parser.add_argument('--ft-steps', type=int, default=1000, help='steps of every fine-tuning')
    parser.add_argument('--segment-length', type=int, default=45, help='ticks (1.5 s at 30 Hz)')
    parser.add_argument('--segment-stride', type=int, default=15)
    parser.add_argument('--tick-stride', type=int, default=None,
                        help="CPL reads every Nth tick of a window (a chunk spans 20): default 1 on state, 5 on "
                             'cameras, where every tick of 32 pairs would be 2,880 images a step')
    parser.add_argument('--cpl-batch', type=int, default=None, help='pairs per CPL step (default: 32; 16 on cameras)')
    parser.add_argument('--min-gap', type=float, default=0.05, help='smaller progress differences are ties')
    parser.add_argument('--val-fraction', type=float, default=0.2, help='held-out scenes (agreement)')
    parser.add_argument('--lam', type=float, default=0.1)
    parser.add_argument('--alpha', type=float, default=0.1)
    parser.add_argument('--conservative-weight', type=float, default=0.01)
    parser.add_argument('--bc-weight', type=float, default=0.0, help='> 0: also CPL-BC with this weight')
    parser.add_argument('--graph-seeds', type=int, nargs='*', default=[0],
                        help='training seeds whose policies are also evaluated through the graph')
    parser.add_argument('--graph-policies', nargs='*', default=['BC', 'SFT', 'CPL'])
    parser.add_argument('--actuation-delay-ticks', type=int, default=0,
                        help='offline evaluation: commands reach the simulation this many ticks late')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--cache-dir', type=Path, default=Path('runs/manipulation_demos'))
    parser.add_argument('--json', type=Path, default=None)
    parser.add_argument('--demos-only', action='store_true',
                        help='record (and cache) the demonstrations, then stop: before runs split across processes')
    parser.add_argument('--merge', type=Path, nargs='+', default=None,
                        help="print one table over the rows of these --json files (runs split across processes)")
    args = parser.parse_args(argv)
    images = bool(OBSERVATIONS[args.observation]['cameras'])
    for name, state, cameras in (('bc_steps', 3000, 12000), ('tick_stride', 1, 5), ('cpl_batch', 32, 16)):
        if getattr(args, name) is None:
            setattr(args, name, cameras if images else state)
    if args.merge:
        rows = [row for path in args.merge for row in json.loads(path.read_text())['rows']]
        print_table(rows, list(dict.fromkeys(r['policy'] for r in rows)))
        return 0
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    scenes = demonstrations(args)
    if args.demos_only:
        return 0
    rows = []
    for seed in args.seeds:
        rows += run_seed(scenes, args, seed)
    print()
    print_table(rows, list(dict.fromkeys(r['policy'] for r in rows)))
    print(f'{len(args.seeds)} seeds x {args.eval_episodes} episodes, {args.task}, {args.scenes} scenes x 2 operators '
          f'(aim offset {args.aim_offset} m), {time.perf_counter() - t0:.0f} s')
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({'settings': vars(args), 'rows': rows}, indent=2, default=str))
    return 0


if __name__ == '__main__':
    sys.exit(main())
