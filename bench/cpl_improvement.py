#!/usr/bin/env python3
# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""CPL fine-tuning raises the success rate of a deliberately mediocre BC policy (issue 5 acceptance).

1. Demonstrations: rlhf_sim.expert.ExpertController drives ManipulationEnv (state only) with a noisy expert.
2. BC (rlhf_training.bc.train_bc): a Gaussian policy trained briefly on few demonstrations -> mediocre.
3. Segments: rollouts of the BC policy with Gaussian action noise at several levels, cut into fixed windows;
   pairs of windows with the same start tick of the same seeded episode at different noise levels.
4. Labels from the simulation's true task progress: the segment whose progress gained more (success counts
   +1) is preferred; nearly equal gains are ties (0.5).
5. CPL (rlhf_training.cpl.train_cpl) fine-tunes the BC policy on those pairs (piano preset: lr 1e-4, batch 32,
   alpha 0.1, lambda 0.5, conservative weight 0.01), and both policies are evaluated deterministically on the
   same seeded episodes.

Observations are state only (2-core CPU): joint positions and velocities plus the privileged object and target
positions from the simulation's task state (an image policy would need far more demonstrations and compute).
The bench prints a table of success rate and mean final progress before/after, and the settings.

Usage: python bench/cpl_improvement.py [--eval-episodes 50] [--seed 0] [--json out.json]
"""

import argparse
import copy
import json
from pathlib import Path
import sys
import tempfile
import time

import numpy as np
import torch
from tqdm import tqdm

from rlhf_training.bc import train_bc
from rlhf_training.config import BCConfig, CPLConfig
from rlhf_training.cpl import policy_preference_accuracy, train_cpl
from rlhf_training.datasets import SegmentPairDataset, TransitionDataset
from rlhf_training.models import PROPRIO_KEY, GaussianPolicy

_FK = {}


def _ee_position(env, q):
    if 'ik' not in _FK:
        from rlhf_sim.ik import DifferentialIK
        _FK['ik'] = DifferentialIK(env.unwrapped.model)
    return _FK['ik'].ee_pose(np.asarray(q[:7], dtype=np.float64))[0]


def state_vector(obs, info, previous_action, env):
    """State: joints (9), velocities (9), end effector (3), object - end effector, target - object, last action.

    The relative vectors are the task's geometry in the form a small network generalises from with few
    demonstrations (from joint angles alone it would have to learn the forward kinematics first).

    The previous action gives a memoryless policy the hysteresis the scripted expert has (its integrated joint
    targets, its gripper phase); without it BC chatters the gripper open/closed and never completes a grasp.
    """
    ts = info['task_state']
    ee = _ee_position(env, obs['joint_positions'])
    cube, target = ts.object_poses[0, :3], ts.target_pose[:3]
    return np.concatenate([obs['joint_positions'], obs['joint_velocities'], ee, 10.0 * (cube - ee),
                           10.0 * (target - cube), previous_action]).astype(np.float32)


# Recorded actions are kept inside +-ACTION_LIMIT. The expert's gripper command is always fully open or closed
# (+-1 exactly) and its arm targets often hit max_delta_rad; at +-1 the tanh-Gaussian log-likelihood is dominated
# by the change-of-variables term (atanh(1 - 1e-6) = 7.25), which drags CPL's policy means into saturation.
ACTION_LIMIT = 0.97
INITIAL_ACTION = np.concatenate([np.zeros(7), [ACTION_LIMIT]])  # hold still, gripper open


class StateNormaliser:
    def __init__(self, states):
        self.mean = states.mean(0)
        self.std = np.maximum(states.std(0), 1e-3)

    def __call__(self, x):
        return ((x - self.mean) / self.std).astype(np.float32)


def collect_demos(env, action_spec, num_demos, noise, seed, max_steps):
    from rlhf_sim.expert import ExpertController
    states, actions, successes = [], [], []
    for i in tqdm(range(num_demos), desc='expert demos', dynamic_ncols=True):
        expert = ExpertController(env, noise=noise, seed=seed + i)
        obs, info = env.reset(seed=seed + i)
        expert.reset()
        previous = INITIAL_ACTION
        for _ in range(max_steps):
            command = np.asarray(expert.action(obs), dtype=np.float64)
            q = np.asarray(obs['joint_positions'], dtype=np.float64)
            states.append(state_vector(obs, info, previous, env))
            previous = np.clip(action_spec.from_command(command, q[:7]), -ACTION_LIMIT, ACTION_LIMIT)
            actions.append(previous)
            obs, _, terminated, truncated, info = env.step(command)
            if terminated or truncated:
                break
        successes.append(bool(info['success']))
    return np.stack(states), np.stack(actions).astype(np.float32), float(np.mean(successes))


def policy_actor(policy, norm, env, noise=0.0, rng=None):
    """Normalised action of the (deterministic) policy plus Gaussian noise of std ``noise``."""
    def act(obs, info, previous):
        s = norm(state_vector(obs, info, previous, env))
        with torch.no_grad():
            a = policy.deterministic({PROPRIO_KEY: torch.from_numpy(s)[None]})[0].numpy().astype(np.float64)
        if noise > 0:
            a = np.clip(a + noise * rng.standard_normal(a.shape), -ACTION_LIMIT, ACTION_LIMIT)
        return a
    return act


def expert_actor(env, action_spec, noise, seed):
    """The scripted expert (rlhf_sim.expert.ExpertController) as normalised actions."""
    from rlhf_sim.expert import ExpertController
    expert = ExpertController(env, noise=noise, seed=seed)

    def act(obs, info, previous):
        q = np.asarray(obs['joint_positions'], dtype=np.float64)
        return np.clip(action_spec.from_command(expert.action(obs), q[:7]), -ACTION_LIMIT, ACTION_LIMIT)
    return act


def rollout(env, actor, norm, action_spec, seed, max_steps):
    """One episode; returns normalised states (T, D), actions (T, 8), progress (T+1,), success flag per tick."""
    obs, info = env.reset(seed=seed)
    states, actions, progress, success = [], [], [info['progress']], [False]
    previous = INITIAL_ACTION
    for _ in range(max_steps):
        states.append(norm(state_vector(obs, info, previous, env)))
        a = actor(obs, info, previous)
        q = np.asarray(obs['joint_positions'], dtype=np.float64)
        obs, _, terminated, truncated, info = env.step(action_spec.to_command(a, q[:7]))
        actions.append(np.asarray(a, dtype=np.float32))
        previous = a
        progress.append(info['progress'])
        success.append(bool(info['success']))
        if terminated or truncated:
            break
    return np.stack(states), np.stack(actions), np.asarray(progress), np.asarray(success)


def evaluate(env, policy, norm, action_spec, seeds, max_steps, desc):
    succ, prog = [], []
    for seed in tqdm(seeds, desc=desc, dynamic_ncols=True):
        _, _, progress, success = rollout(env, policy_actor(policy, norm, env), norm, action_spec, seed, max_steps)
        succ.append(bool(success.any()))
        prog.append(float(progress[-1]))
    return {'success_rate': float(np.mean(succ)), 'final_progress': float(np.mean(prog)), 'episodes': len(seeds)}


def segment_score(progress, success, start, end):
    """Progress gained over ticks [start, end] (+1 if the task succeeded inside the window)."""
    return float(progress[end] - progress[start]) + float(success[start + 1:end + 1].any())


def build_pairs(env, sources, norm, action_spec, seeds, max_steps, seg_len, tie_margin):
    """For each seed, one rollout per source; pairs of windows with the same start tick across sources.

    ``sources``: {name: factory(episode_seed) -> actor}. A run that succeeded (and so ended) inside a window
    contributes that shorter window; windows after a run ended do not exist for it.
    """
    segments, pairs, labels = [], [], []
    for ep_seed in tqdm(seeds, desc='preference rollouts', dynamic_ncols=True):
        runs = [rollout(env, make(ep_seed), norm, action_spec, ep_seed, max_steps) for make in sources.values()]
        for start in range(0, max(len(r[0]) for r in runs), seg_len):
            ids, scores = [], []
            for states, actions, progress, success in runs:
                end = min(start + seg_len, len(actions))
                if end - start < seg_len and not success[end]:
                    continue  # incomplete window of a run that did not succeed (truncated)
                if end <= start:
                    continue
                ids.append(len(segments))
                segments.append(({PROPRIO_KEY: states[start:end]}, actions[start:end]))
                scores.append(segment_score(progress, success, start, end))
            for i in range(len(ids)):
                for j in range(i + 1, len(ids)):
                    diff = scores[i] - scores[j]
                    if abs(diff) < tie_margin and abs(scores[i]) < tie_margin:
                        continue  # neither segment changed the task: no information
                    pairs.append((ids[i], ids[j]))
                    labels.append(0.5 if abs(diff) < tie_margin else float(diff > 0))
    return segments, np.asarray(pairs), np.asarray(labels, dtype=np.float32)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--task', default='pick_place')
    parser.add_argument('--demos', type=int, default=10, help='expert demonstrations for BC (few: mediocre BC)')
    parser.add_argument('--demo-noise', type=float, default=0.0, help='expert twist noise of the demos')
    parser.add_argument('--bc-steps', type=int, default=1000)
    parser.add_argument('--bc-loss', choices=('nll', 'mse'), default='mse')
    parser.add_argument('--bc-calibrate-steps', type=int, default=300,
                        help='NLL steps after MSE BC so the policy spread fits the data (CPL needs log-likelihoods)')
    parser.add_argument('--stop-after-bc', action='store_true', help='only report the BC policy (for tuning)')
    parser.add_argument('--preference-episodes', type=int, default=30, help='seeded episodes for segments')
    parser.add_argument('--policy-noise', type=float, nargs='+', default=[0.0, 0.3],
                        help='action noise levels of the BC policy rollouts that give segments')
    parser.add_argument('--expert-noise', type=float, nargs='*', default=[0.0, 0.3, 0.8],
                        help='twist noise levels of scripted-expert rollouts that give segments ([] for none)')
    parser.add_argument('--segment-length', type=int, default=30, help='control ticks per segment (1 s)')
    parser.add_argument('--tie-margin', type=float, default=0.02)
    parser.add_argument('--cpl-steps', type=int, default=2000)
    parser.add_argument('--cpl-lr', type=float, default=1e-4)
    parser.add_argument('--alpha', type=float, default=0.1)
    parser.add_argument('--lam', type=float, default=0.5)
    parser.add_argument('--conservative-weight', type=float, default=0.01)
    parser.add_argument('--eval-episodes', type=int, default=50)
    parser.add_argument('--max-steps', type=int, default=200, help='control ticks per episode (30 Hz)')
    parser.add_argument('--max-delta-rad', type=float, default=0.15,
                        help='arm target change per tick at action +-1 (covers the expert controller lead)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--json', type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    from rlhf_policy.contract import ActionSpec
    from rlhf_sim.env import ManipulationEnv
    from rlhf_sim.robot import ARM_JOINT_NAMES
    env = ManipulationEnv(task=args.task, cameras=(), max_episode_steps=args.max_steps)
    idx = env.sim.idx
    action_spec = ActionSpec(list(ARM_JOINT_NAMES), args.max_delta_rad, idx.arm_lower, idx.arm_upper)
    t0 = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix='cpl_bench_'))

    # Seeds: demos 0.., preference rollouts 10_000.., evaluation 20_000.. (disjoint).
    states, actions, demo_success = collect_demos(env, action_spec, args.demos, args.demo_noise, args.seed,
                                                  args.max_steps)
    norm = StateNormaliser(states)
    policy = GaussianPolicy({PROPRIO_KEY: (states.shape[1],)}, 8, hidden_dims=(256, 256))
    bc_cfg = BCConfig(steps=args.bc_steps, loss=args.bc_loss, batch_size=256, lr=1e-3, out_dir=str(work / 'bc'),
                      resume=False, progress=False, export_onnx=False, checkpoint_every=10 ** 9, eval_every=10 ** 9,
                      device='cpu', seed=args.seed)
    demos = TransitionDataset({PROPRIO_KEY: norm(states)}, actions)
    bc_summary = train_bc(policy, demos, bc_cfg)
    if args.bc_calibrate_steps > 0:
        # MSE leaves the Gaussian's spread at its initialisation (from 0.02 to 2 per dimension here); CPL's
        # log-likelihoods would then be dominated by that arbitrary spread. A short, slow NLL phase fits it.
        calib_cfg = BCConfig(**{**vars(bc_cfg), 'steps': args.bc_calibrate_steps, 'loss': 'nll', 'lr': 1e-4,
                                'out_dir': str(work / 'bc_nll')})
        train_bc(policy, demos, calib_cfg)
    bc_policy = copy.deepcopy(policy).eval()

    eval_seeds = list(range(20_000 + args.seed, 20_000 + args.seed + args.eval_episodes))
    before = evaluate(env, bc_policy, norm, action_spec, eval_seeds, args.max_steps, 'evaluate BC')
    if args.stop_after_bc:
        print(f'BC: success {before["success_rate"]:.2f}, final progress {before["final_progress"]:.3f} '
              f'(demo success {demo_success:.2f}, final loss {bc_summary["final_loss"]:.3f})')
        return 0

    pref_seeds = list(range(10_000 + args.seed, 10_000 + args.seed + args.preference_episodes))
    rng = np.random.default_rng(args.seed)
    sources = {f'BC noise {n}': (lambda ep, n=n: policy_actor(bc_policy, norm, env, n, rng)) for n in args.policy_noise}
    sources.update({f'expert noise {n}': (lambda ep, n=n: expert_actor(env, action_spec, n, ep))
                    for n in args.expert_noise})
    segments, pairs, labels = build_pairs(env, sources, norm, action_spec, pref_seeds, args.max_steps,
                                          args.segment_length, args.tie_margin)
    if len(pairs) == 0:
        print('no informative preference pairs (no segment made progress); raise --preference-episodes')
        return 1
    data = SegmentPairDataset(segments, pairs, labels)
    train_data, val_data = data.split(0.2, seed=args.seed)
    cpl_cfg = CPLConfig(steps=args.cpl_steps, lr=args.cpl_lr, alpha=args.alpha, lam=args.lam,
                        conservative_weight=args.conservative_weight, out_dir=str(work / 'cpl'), resume=False,
                        progress=False, export_onnx=False, checkpoint_every=10 ** 9, eval_every=10 ** 9, device='cpu',
                        seed=args.seed)
    align_before = policy_preference_accuracy(bc_policy, val_data)
    train_cpl(policy, train_data, cpl_cfg, reference=bc_policy)
    policy.eval()
    align_after = policy_preference_accuracy(policy, val_data)
    after = evaluate(env, policy, norm, action_spec, eval_seeds, args.max_steps, 'evaluate CPL')
    total_s = time.perf_counter() - t0
    env.close()

    decided = labels != 0.5
    print()
    print(f'task {args.task}, state-only observations, {args.eval_episodes} evaluation episodes '
          f'(seeds {eval_seeds[0]}..{eval_seeds[-1]}), {args.max_steps} ticks at 30 Hz')
    print(f'demos: {args.demos} (expert noise {args.demo_noise}, expert success {demo_success:.2f}), '
          f'{len(states)} transitions; BC {args.bc_steps} steps (final loss {bc_summary["final_loss"]:.3f})')
    print(f'preferences: {len(pairs)} pairs ({int(decided.sum())} decided, {int((~decided).sum())} ties) from '
          f'{args.preference_episodes} episodes x {list(sources)}, segments of {args.segment_length} '
          f'ticks; CPL {args.cpl_steps} steps (lr {cpl_cfg.lr}, batch {cpl_cfg.batch_size}, alpha {cpl_cfg.alpha}, '
          f'lambda {cpl_cfg.lam}, conservative {cpl_cfg.conservative_weight})')
    print()
    print(f"{'policy':<14} {'success rate':>12} {'final progress':>15} {'held-out pref. agreement':>25}")
    print(f"{'BC (before)':<14} {before['success_rate']:>12.2f} {before['final_progress']:>15.3f} "
          f"{align_before['accuracy']:>25.3f}")
    print(f"{'BC + CPL':<14} {after['success_rate']:>12.2f} {after['final_progress']:>15.3f} "
          f"{align_after['accuracy']:>25.3f}")
    print(f'total wall time {total_s:.0f} s')
    if args.json:
        args.json.write_text(json.dumps({
            'args': vars(args) | {'json': str(args.json)}, 'demo_success': demo_success, 'before': before,
            'after': after, 'alignment_before': align_before, 'alignment_after': align_after,
            'pairs': int(len(pairs)), 'ties': int((~decided).sum()), 'wall_s': total_s}, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
