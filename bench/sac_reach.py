#!/usr/bin/env python3
# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""SAC (DroQ) learns to reach with the simulated Panda from the task reward, within a stated step budget.

Task: rlhf_training.rl.ReachEnv (state only; move the end effector to a random target within +-15 cm of
its start; reward -10 x distance in m; success: distance < 5 cm at the end of a 60-step (2 s) episode).
Hyperparameters: the piano preset (config/sac.yaml) except where a flag says otherwise; on this 2-core CPU
the default budget is 6000 environment steps with UTD 1 (about 4 minutes when the CPU is free).

Prints the learning curve (deterministic evaluation every --eval-every steps: mean return, final
distance, success rate) and the final success rate over --final-episodes seeded episodes.

Usage: python bench/sac_reach.py [--steps 6000] [--utd 1] [--seed 0] [--json out.json]
"""

import argparse
import json
from pathlib import Path
import sys
import time

import numpy as np
import torch

from rlhf_training.config import config_to_dict, load_config
from rlhf_training.envs import ReachEnv
from rlhf_training.sac import evaluate_agent, train_sac

CONFIG = Path(__file__).resolve().parents[1] / 'src' / 'rlhf_training' / 'config' / 'sac.yaml'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=6000, help='environment steps (the budget)')
    parser.add_argument('--utd', type=int, default=1, help='critic updates per environment step (DroQ: 20)')
    parser.add_argument('--warmup', type=int, default=1000)
    parser.add_argument('--eval-every', type=int, default=1000)
    parser.add_argument('--eval-episodes', type=int, default=10)
    parser.add_argument('--final-episodes', type=int, default=50)
    parser.add_argument('--discount', type=float, default=None, help='default: config/sac.yaml (0.99)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--json', type=Path, default=None, help='also write the curve and summary as JSON')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    overrides = {'steps': args.steps, 'utd_ratio': args.utd, 'warmup_steps': args.warmup,
                 'eval_every': args.eval_every, 'eval_episodes': args.eval_episodes, 'seed': args.seed,
                 'buffer_size': max(args.steps, 256)}
    if args.discount is not None:
        overrides['discount'] = args.discount
    cfg = load_config(CONFIG, **overrides)
    env, eval_env = ReachEnv(), ReachEnv()

    print(f'SAC (DroQ) on ReachEnv: {cfg.steps} env steps, UTD {cfg.utd_ratio}, batch {cfg.batch_size}, '
          f'hidden {list(cfg.hidden_dims)}, discount {cfg.discount}, tau {cfg.tau}, '
          f'init temperature {cfg.init_temperature}, critic dropout {cfg.critic_dropout} + layer norm, '
          f'{args.threads} torch thread(s)')
    start = time.perf_counter()
    rows = []

    def show(step, row):
        row = dict(row, wall_s=time.perf_counter() - start)
        rows.append(row)
        if len(rows) == 1:
            print(f"{'step':>7} {'return':>9} {'final dist (m)':>15} {'success':>8} {'temp':>6} {'wall s':>7}")
        print(f"{step:>7} {row['eval_return']:>9.2f} {row['eval_final_distance']:>15.3f} "
              f"{row['eval_success']:>8.2f} {row.get('temperature', float('nan')):>6.3f} {row['wall_s']:>7.0f}",
              flush=True)

    result = train_sac(env, cfg, eval_env=eval_env, progress=False, callback=show)
    train_s = time.perf_counter() - start
    final = evaluate_agent(result.agent, result.flattener, eval_env, args.final_episodes, seed=50_000)
    # The same episodes with zero action (the arm holds still) and with uniform random actions, for scale.
    rng = np.random.default_rng(0)
    baselines = {}
    for name, act in (('hold still', lambda: np.zeros(8)), ('random', lambda: rng.uniform(-1, 1, 8))):
        dists, succ = [], []
        for ep in range(args.final_episodes):
            eval_env.reset(seed=50_000 + ep)
            done = False
            while not done:
                _, _, term, trunc, info = eval_env.step(act())
                done = term or trunc
            dists.append(info['distance'])
            succ.append(info['success'])
        baselines[name] = {'final_distance': float(np.mean(dists)), 'success': float(np.mean(succ))}
    print()
    print(f"{'policy':<22} {'final dist (m)':>15} {'success':>8}   ({args.final_episodes} episodes, seeds 50000+)")
    for name, b in baselines.items():
        print(f"{name:<22} {b['final_distance']:>15.3f} {b['success']:>8.2f}")
    print(f"{'SAC (DroQ)':<22} {final['eval_final_distance']:>15.3f} {final['eval_success']:>8.2f}")
    print(f'training wall time {train_s:.0f} s ({cfg.steps / train_s:.1f} env steps/s incl. updates)')
    if args.json:
        args.json.write_text(json.dumps({'config': config_to_dict(cfg), 'curve': rows, 'final': final,
                                         'baselines': baselines, 'train_s': train_s}, indent=2))
    env.close()
    eval_env.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
