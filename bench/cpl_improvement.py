#!/usr/bin/env python3
# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""CPL fine-tuning raises the success rate of a deliberately mediocre BC policy (issue 5 acceptance).

1. Demonstrations of mixed quality, as from a team of two operators: on every scene (reset seed) a careful
   operator (rlhf_sim.expert.ExpertController) and a sloppy one who aims --aim-offset off the goal (a depth
   misjudgement) each make --attempts attempts, all with a noisy hand (--demo-noise); state observations.
2. BC (rlhf_training.bc.train_bc, MSE, spread calibrated afterwards) on all of them: it learns the average
   of the two operators, which is mediocre however long it trains.
3. Segments: windows of --segment-length ticks every --segment-stride ticks; pairs of windows that start at the
   same tick of two attempts at the same scene, labelled from the simulation's true task progress: the window
   that gained more progress (success counts +1) is preferred.
4. CPL (rlhf_training.cpl.train_cpl; lr 1e-4, batch 32, alpha 0.1, conservative weight 0.01 as in the piano
   preset) fine-tunes the BC policy on those pairs, once per variant in --variants (VARIANTS: the likelihood,
   the spread, CPL-BC).
5. Baselines, on the same data and steps: "BC + more steps" (BC trained --cpl-steps more steps on the
   demonstrations at CPL's learning rate: what more training adds) and "SFT" (the BC policy fine-tuned with BC on
   the preferred segments of the training pairs only: what imitating the winners adds). CPL works where it beats
   SFT.

6. With --rl-steps N, the other preference route, side by side on the same pairs: a Bradley-Terry ensemble trained
   on them, then SAC (DroQ) from the BC policy for N environment steps on its normalised r_hat
   (rlhf_training.rl.LearnedRewardWrapper; the critic learns alone for the first 1,000 steps; --rl-temperature,
   and --rl-reference-weight to anchor the actor to BC's action).
7. With --label-counts, how many labels it takes: the --curve-variant trained on N of the training pairs, chosen
   at random or by reward-ensemble disagreement (a third at random, a Bradley-Terry ensemble trained on them,
   then the pairs its members disagree on most), for every N; a table and, with --plot, a PNG.

All policies are evaluated deterministically on the same seeded episodes. The bench prints a table of success
rate, mean final progress, held-out preference agreement (by the policy's own log-likelihood, and by the distance
of its deterministic action alone, which a change of spread cannot buy), how far the deterministic action moved
from BC's on the held-out segments, and the settings.

Usage: python bench/cpl_improvement.py [--eval-episodes 50] [--seeds 0 1 2 3] [--json out.json]
"""

import argparse
import copy
import json
from pathlib import Path
import sys
import tempfile
import time

import gymnasium as gym
import numpy as np
import torch
from tqdm import tqdm

from rlhf_common.robot import JOINT_NAMES
from rlhf_preference.pairs import candidate_pairs
from rlhf_training.bc import train_bc
from rlhf_training.config import BCConfig, CPLConfig, RewardConfig, SACConfig
from rlhf_training.cpl import policy_preference_accuracy, train_cpl
from rlhf_training.datasets import SegmentPairDataset, TransitionDataset
from rlhf_training.models import PROPRIO_KEY, GaussianPolicy, RewardEnsemble
from rlhf_training.reward import member_logits, train_reward

# CPL variants: CPLConfig overrides (see rlhf_training.cpl, "Where the gain lands").
VARIANTS = {
    'CPL': {},
    'CPL frozen spread': {'spread': 'pretrained'},
    'CPL squared error': {'likelihood': 'squared_error'},
    'CPL-BC squared error': {'likelihood': 'squared_error', 'bc_weight': 1.0},
}
QUIET = dict(resume=False, progress=False, export_onnx=False, checkpoint_every=10 ** 9, eval_every=10 ** 9,
             device='cpu')
# Actions are kept inside +-ACTION_LIMIT: at exactly +-1 the tanh-Gaussian log-likelihood is dominated by the
# change-of-variables term, which CPL would then optimise instead of the action itself.
ACTION_LIMIT = 0.97


class Features:
    """State: joints (9), velocities (9), end effector (3), 10 x (object - end effector), 10 x (target - object).

    The relative vectors give a small network the task's geometry from few demonstrations (from joint angles
    alone it would first have to learn the forward kinematics).
    """

    def __init__(self, env):
        from rlhf_sim.ik import DifferentialIK
        self.ik = DifferentialIK(env.unwrapped.model)

    def __call__(self, obs, info):
        ts = info['task_state']
        ee = self.ik.ee_pose(np.asarray(obs['joint_positions'][:7], dtype=np.float64))[0]
        cube, target = ts.object_poses[0, :3], ts.target_pose[:3]
        return np.concatenate([obs['joint_positions'], obs['joint_velocities'], ee, 10.0 * (cube - ee),
                               10.0 * (target - cube)]).astype(np.float32)


class Normaliser:
    def __init__(self, states):
        self.mean, self.std = states.mean(0), np.maximum(states.std(0), 1e-3)

    def __call__(self, x):
        return ((x - self.mean) / self.std).astype(np.float32)


def rollout(env, features, act, action_spec, seed, max_steps):
    """One episode of ``act(obs, info) -> action``: raw states (T, D), actions (T, 8), progress and success (T+1,)."""
    obs, info = env.reset(seed=seed)
    states, actions, progress, success = [], [], [info['progress']], [False]
    for _ in range(max_steps):
        states.append(features(obs, info))
        a = np.clip(act(obs, info), -ACTION_LIMIT, ACTION_LIMIT)
        measured = action_spec.measured_command(JOINT_NAMES, obs['joint_positions'])
        obs, _, terminated, truncated, info = env.step(action_spec.to_command(a, measured))
        actions.append(a.astype(np.float32))
        progress.append(info['progress'])
        success.append(bool(info['success']))
        if terminated or truncated:
            break
    return np.stack(states), np.stack(actions), np.asarray(progress), np.asarray(success)


def expert_act(env, action_spec, noise, seed, aim_offset=(0.0, 0.0, 0.0)):
    from rlhf_sim.expert import ExpertController
    expert = ExpertController(env, noise=noise, seed=seed, aim_offset=aim_offset)
    expert.reset()

    def act(obs, info):
        measured = action_spec.measured_command(JOINT_NAMES, obs['joint_positions'])
        return action_spec.from_commands(expert.action(obs)[None], measured[None])[0]
    return act


def policy_act(policy, features, norm):
    def act(obs, info):
        x = torch.from_numpy(norm(features(obs, info)))[None]
        with torch.no_grad():
            return policy.deterministic({PROPRIO_KEY: x})[0].numpy().astype(np.float64)
    return act


def evaluate(env, features, policy, norm, action_spec, seeds, max_steps, desc):
    succ, prog = [], []
    for seed in tqdm(seeds, desc=desc, dynamic_ncols=True):
        _, _, progress, success = rollout(env, features, policy_act(policy, features, norm), action_spec, seed,
                                          max_steps)
        succ.append(bool(success.any()))
        prog.append(float(progress[-1]))
    return {'success_rate': float(np.mean(succ)), 'final_progress': float(np.mean(prog)), 'episodes': len(seeds)}


def segment_score(progress, success, start, end):
    """Progress gained over ticks [start, end] (+1 if the task succeeded inside the window)."""
    return float(progress[end] - progress[start]) + float(success[start + 1:end + 1].any())


def same_scene_pairs(episodes, scenes, norm, length, stride, num_pairs, tie_margin, rng):
    """Windows of every episode; pairs of windows that start at the same tick of two attempts at the same scene.

    Two attempts at one scene start from the same state, so the better window is the better behaviour, not the
    easier start. A window cut short by success is kept (its end is the best part); one cut short by the
    episode's end without success is not. Pairs whose scores differ by less than ``tie_margin`` carry no label
    and are dropped; at most ``num_pairs`` distinct pairs are drawn from the rest.
    """
    segments, keys, scores = [], [], []
    for k, (states, actions, progress, success) in enumerate(episodes):
        for start in range(0, len(actions), stride):
            end = min(start + length, len(actions))
            if end - start < length and not success[end]:
                continue
            segments.append(({PROPRIO_KEY: norm(states[start:end])}, actions[start:end]))
            keys.append((scenes[k], start))
            scores.append(segment_score(progress, success, start, end))
    # The pairing rlhf_preference's make_pairs --pairing same_start uses, on segment indices here.
    candidates = candidate_pairs(range(len(segments)), rng, max_candidates=10 ** 9, group_of=keys.__getitem__)
    pairs = np.asarray([(i, j) for i, j in candidates if abs(scores[i] - scores[j]) >= tie_margin],
                       dtype=np.int64).reshape(-1, 2)
    pairs = pairs[rng.permutation(len(pairs))[:num_pairs]]
    swap = rng.random(len(pairs)) < 0.5   # no side is the careful operator's by construction
    pairs[swap] = pairs[swap][:, ::-1]
    scores = np.asarray(scores)
    labels = (scores[pairs[:, 0]] > scores[pairs[:, 1]]).astype(np.float32)
    return SegmentPairDataset(segments, pairs, labels)


def preferred_transitions(pairs: SegmentPairDataset) -> TransitionDataset:
    """Every step of the segments preferred in a decided pair (each segment once): SFT's data."""
    winners = np.unique(np.where(pairs.labels > 0.5, pairs.pairs[:, 0], pairs.pairs[:, 1])[pairs.labels != 0.5])
    valid = pairs.mask[winners] > 0
    return TransitionDataset({k: v[winners][valid] for k, v in pairs.observations.items()},
                             pairs.actions[winners][valid])


@torch.no_grad()
def action_change(policy, reference, pairs: SegmentPairDataset) -> float:
    """Mean |tanh(mean) - tanh(mean_reference)| per action dimension over every step of the pairs' segments."""
    valid = pairs.mask > 0
    obs = {k: torch.from_numpy(v[valid]) for k, v in pairs.observations.items()}
    return float((policy.deterministic(obs) - reference.deterministic(obs)).abs().mean())


class FeatureEnv(gym.Env):
    """The simulator as the bench's policies see it: normalised Features in, normalised actions out."""

    def __init__(self, env, features, norm, action_spec):
        self.env, self.features, self.norm, self.action_spec = env, features, norm, action_spec
        dim = len(norm.mean)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (dim,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (8,), np.float32)
        self._joints = None

    def _observe(self, obs, info):
        self._joints = obs['joint_positions']
        return self.norm(self.features(obs, info))

    def reset(self, seed=None, options=None):
        obs, info = self.env.reset(seed=seed)
        return self._observe(obs, info), info

    def step(self, action):
        a = np.clip(action, -ACTION_LIMIT, ACTION_LIMIT)
        measured = self.action_spec.measured_command(JOINT_NAMES, self._joints)
        obs, reward, terminated, truncated, info = self.env.step(self.action_spec.to_command(a, measured))
        return self._observe(obs, info), reward, terminated, truncated, info


def rl_on_learned_reward(env, features, norm, action_spec, bc_policy, pairs, args, seed, work):
    """SAC from the BC policy on a Bradley-Terry ensemble's reward, trained on ``pairs``; the fine-tuned actor."""
    from rlhf_training.rl import LearnedRewardWrapper
    from rlhf_training.sac import train_sac
    ensemble = RewardEnsemble.build(3, 'mlp', pairs.observation_shapes, pairs.action_dim, hidden_dims=(256, 256))
    train_reward(ensemble, pairs, RewardConfig(steps=1000, batch_size=64, seed=seed, out_dir=str(work / 'reward'),
                                               **QUIET))
    sim = FeatureEnv(env, features, norm, action_spec)
    cfg = SACConfig(steps=args.rl_steps, seed=seed, eval_every=0, eval_episodes=1, out_dir=str(work / 'rl'),
                    warmup_steps=min(1000, args.rl_steps // 2), init_temperature=args.rl_temperature,
                    reference_weight=args.rl_reference_weight,
                    **{k: v for k, v in QUIET.items() if k != 'eval_every'})
    result = train_sac(LearnedRewardWrapper(sim, ensemble), cfg, eval_env=sim, actor=copy.deepcopy(bc_policy).train(),
                       progress=False)
    return result.agent.actor.eval()


def chosen_pairs(pairs: SegmentPairDataset, count: int, selection: str, seed: int, work: Path) -> SegmentPairDataset:
    """``count`` of the pairs, at random or by the disagreement of a reward ensemble trained on a random third."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pairs))
    if selection == 'random' or count >= len(pairs):
        return pairs.subset(np.sort(order[:count]))
    first = order[:max(count // 3, 1)]
    ensemble = RewardEnsemble.build(3, 'mlp', pairs.observation_shapes, pairs.action_dim, hidden_dims=(64, 64))
    train_reward(ensemble, pairs.subset(first), RewardConfig(steps=300, batch_size=32, seed=seed,
                                                             out_dir=str(work / f'reward_{count}'), **QUIET))
    rest = order[len(first):]
    with torch.no_grad():
        spread = torch.cat([member_logits(ensemble.eval(), pairs.batch(rest[i:i + 256])).std(0)
                            for i in range(0, len(rest), 256)]).numpy()
    return pairs.subset(np.sort(np.concatenate([first, rest[np.argsort(-spread)[:count - len(first)]]])))


def run_seed(args, seed):
    """Demonstrations, BC, the longer-BC control and CPL for one seed; their evaluation rows."""
    from rlhf_policy.actions import ActionSpec
    from rlhf_sim.env import ManipulationEnv
    env = ManipulationEnv(task=args.task, cameras=(), max_episode_steps=args.max_steps)
    action_spec = ActionSpec.for_panda(args.max_delta_rad)
    features = Features(env)
    work = Path(tempfile.mkdtemp(prefix='cpl_bench_'))

    # Seeds: demonstrations 100 * seed + i, evaluation 20_000 + 100 * seed + i (disjoint).
    # Every scene (reset seed) is attempted by both operators, args.attempts times each, with different hand noise.
    jobs = [(100 * seed + j, offset, 1000 * k + j) for j in range(args.scenes)
            for offset in [(0.0, 0.0, 0.0), tuple(args.aim_offset)] for k in range(args.attempts)]
    episodes = [rollout(env, features, expert_act(env, action_spec, args.demo_noise, noise_seed, offset),
                        action_spec, scene, args.max_steps)
                for scene, offset, noise_seed in tqdm(jobs, desc='demonstrations', dynamic_ncols=True)]
    scenes = [scene for scene, _, _ in jobs]
    demo_success = float(np.mean([ep[3].any() for ep in episodes]))
    states = np.concatenate([ep[0] for ep in episodes])
    actions = np.concatenate([ep[1] for ep in episodes])
    norm = Normaliser(states)
    demos = TransitionDataset({PROPRIO_KEY: norm(states)}, actions)

    torch.manual_seed(seed)
    bc_policy = GaussianPolicy({PROPRIO_KEY: (states.shape[1],)}, 8, hidden_dims=(256, 256))
    bc_cfg = BCConfig(steps=args.bc_steps, loss='mse', batch_size=256, lr=1e-3, out_dir=str(work / 'bc'),
                      seed=seed, **QUIET)
    train_bc(bc_policy, demos, bc_cfg)
    bc_policy.eval()

    more_bc = copy.deepcopy(bc_policy).train()
    train_bc(more_bc, demos, BCConfig(**{**vars(bc_cfg), 'steps': args.cpl_steps, 'lr': args.cpl_lr,
                                         'out_dir': str(work / 'more_bc')}))
    more_bc.eval()

    data = same_scene_pairs(episodes, scenes, norm, args.segment_length, args.segment_stride, args.pairs,
                            args.tie_margin, np.random.default_rng(seed))
    if len(data) == 0:
        raise SystemExit('no informative preference pairs; raise --scenes or lower --tie-margin')
    train_data, val_data = data.split(0.2, seed=seed)
    sft = copy.deepcopy(bc_policy).train()
    train_bc(sft, preferred_transitions(train_data), BCConfig(**{**vars(bc_cfg), 'steps': args.cpl_steps,
                                                                 'lr': args.cpl_lr, 'out_dir': str(work / 'sft')}))
    policies = {'BC (before)': bc_policy, 'BC + more steps': more_bc, 'SFT': sft.eval()}
    for name in args.variants:
        cpl_cfg = CPLConfig(steps=args.cpl_steps, lr=args.cpl_lr, alpha=args.alpha, lam=args.lam,
                            conservative_weight=args.conservative_weight, out_dir=str(work / f'cpl_{len(policies)}'),
                            relative_to_pretrained=args.relative_to_pretrained, seed=seed,
                            **{**QUIET, **VARIANTS[name]})
        cpl_policy = copy.deepcopy(bc_policy).train()
        train_cpl(cpl_policy, train_data, cpl_cfg, reference=bc_policy)
        policies[name] = cpl_policy.eval()

    if args.rl_steps:
        policies['RL on learned reward'] = rl_on_learned_reward(env, features, norm, action_spec, bc_policy,
                                                                train_data, args, seed, work)
    curve_runs = {}
    for count in args.label_counts:
        for selection in ('random', 'disagreement'):
            cpl_cfg = CPLConfig(steps=args.cpl_steps, lr=args.cpl_lr, alpha=args.alpha, lam=args.lam,
                                conservative_weight=args.conservative_weight, seed=seed,
                                relative_to_pretrained=args.relative_to_pretrained,
                                out_dir=str(work / f'curve_{count}_{selection}'),
                                **{**QUIET, **VARIANTS[args.curve_variant]})
            curve_policy = copy.deepcopy(bc_policy).train()
            train_cpl(curve_policy, chosen_pairs(train_data, count, selection, seed, work), cpl_cfg,
                      reference=bc_policy)
            curve_runs[(count, selection)] = curve_policy.eval()

    eval_seeds = list(range(20_000 + 100 * seed, 20_000 + 100 * seed + args.eval_episodes))
    curve = {f'{count} {selection}': evaluate(env, features, policy, norm, action_spec, eval_seeds, args.max_steps,
                                              f'{count} pairs, {selection}')['success_rate']
             for (count, selection), policy in curve_runs.items()}
    rows = {}
    for name, policy in policies.items():
        rows[name] = evaluate(env, features, policy, norm, action_spec, eval_seeds, args.max_steps, name)
        rows[name]['preference_agreement'] = policy_preference_accuracy(policy, val_data)['accuracy']
        rows[name]['action_agreement'] = policy_preference_accuracy(policy, val_data,
                                                                    likelihood='squared_error')['accuracy']
        rows[name]['action_change'] = action_change(policy, bc_policy, val_data)
    env.close()

    return {'demo_success': demo_success, 'pairs': len(data), 'results': rows, 'curve': curve}


def print_curve(args, runs):
    """Success rate against labelled pairs, random vs disagreement-chosen, mean over seeds (and a PNG)."""
    print()
    print(f'labels curve: {args.curve_variant}, success rate (mean over seeds {list(runs)})')
    print(f"{'pairs':>6} {'random':>8} {'disagreement':>13}")
    mean = {key: float(np.mean([r['curve'][key] for r in runs.values()])) for key in next(iter(runs.values()))['curve']}
    for count in args.label_counts:
        print(f"{count:>6} {mean[f'{count} random']:>8.2f} {mean[f'{count} disagreement']:>13.2f}")
    if args.plot:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for selection in ('random', 'disagreement'):
            ax.plot(args.label_counts, [mean[f'{c} {selection}'] for c in args.label_counts], 'o-', label=selection)
        bc = np.mean([r['results']['BC (before)']['success_rate'] for r in runs.values()])
        ax.axhline(bc, color='grey', linestyle='--', label='BC')
        ax.set(xscale='log', xlabel='labelled pairs', ylabel='success rate', title=f'{args.task}: {args.curve_variant}')
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f'plot: {args.plot}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--task', default='reach')
    parser.add_argument('--scenes', type=int, default=20, help='scenes (reset seeds) demonstrated')
    parser.add_argument('--attempts', type=int, default=2, help='attempts per scene by each operator')
    parser.add_argument('--aim-offset', type=float, nargs=3, default=[0.0, 0.0, 0.06],
                        help="the sloppy operator's systematic aiming error (m, world frame)")
    parser.add_argument('--demo-noise', type=float, default=0.3, help='twist noise of every demonstration')
    parser.add_argument('--bc-steps', type=int, default=3000)
    parser.add_argument('--segment-length', type=int, default=45,
                        help='control ticks per segment (1.5 s: long enough to show whether the goal is reached)')
    parser.add_argument('--segment-stride', type=int, default=5)
    parser.add_argument('--pairs', type=int, default=2000)
    parser.add_argument('--tie-margin', type=float, default=0.05)
    parser.add_argument('--cpl-steps', type=int, default=1500)
    parser.add_argument('--cpl-lr', type=float, default=1e-4)
    parser.add_argument('--alpha', type=float, default=0.1)
    parser.add_argument('--lam', type=float, default=0.1, help='CPL lambda (0.5: the piano preset)')
    parser.add_argument('--variants', nargs='+', default=list(VARIANTS), choices=list(VARIANTS),
                        help='CPL variants to train (VARIANTS)')
    parser.add_argument('--conservative-weight', type=float, default=0.01)
    parser.add_argument('--relative-to-pretrained', action='store_true',
                        help='CPL advantages from log pi - log pi_pretrained (CPLConfig.relative_to_pretrained)')
    parser.add_argument('--rl-steps', type=int, default=0,
                        help='SAC steps of RL on the learned reward from the BC policy (0: not run)')
    parser.add_argument('--rl-temperature', type=float, default=SACConfig.init_temperature,
                        help="RL on the learned reward: SAC's initial temperature")
    parser.add_argument('--rl-reference-weight', type=float, default=0.0,
                        help='RL on the learned reward: SACConfig.reference_weight (anchor to the BC action)')
    parser.add_argument('--label-counts', type=int, nargs='*', default=[],
                        help='labelled-pair counts of the labels curve (e.g. 100 300 1000; none: no curve)')
    parser.add_argument('--curve-variant', default='CPL squared error', choices=list(VARIANTS))
    parser.add_argument('--plot', type=Path, default=None, help='PNG of the labels curve')
    parser.add_argument('--eval-episodes', type=int, default=50)
    parser.add_argument('--max-steps', type=int, default=150, help='control ticks per episode (30 Hz)')
    parser.add_argument('--max-delta-rad', type=float, default=0.15, help='arm target change per tick at +-1')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2, 3])
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--json', type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    runs = {seed: run_seed(args, seed) for seed in args.seeds}
    total_s = time.perf_counter() - t0

    first = next(iter(runs.values()))
    print()
    print(f'task {args.task}, state only, {args.eval_episodes} evaluation episodes per seed (seeds 20000 + 100 * '
          f'seed + 0..{args.eval_episodes - 1}), at most {args.max_steps} ticks at 30 Hz')
    print(f'demonstrations: {args.scenes} scenes x {args.attempts} attempts by a careful and a sloppy operator '
          f'(aim offset {args.aim_offset} m), hand noise {args.demo_noise}; BC {args.bc_steps} steps (MSE, lr 1e-3)')
    print(f'preferences: up to {args.pairs} same-scene pairs of {args.segment_length}-tick segments (20 % held '
          f'out); CPL {args.cpl_steps} steps (lr {args.cpl_lr}, batch 32, alpha {args.alpha}, lambda {args.lam}, '
          f'conservative {args.conservative_weight}, relative to pretrained {args.relative_to_pretrained}); '
          f'"BC + more steps": {args.cpl_steps} more BC steps at lr {args.cpl_lr}; "SFT": as many BC steps on the '
          f'preferred segments')
    print()
    columns = (('success_rate', 'success', '.2f'), ('final_progress', 'progress', '.3f'),
               ('preference_agreement', 'agreement (log pi)', '.3f'),
               ('action_agreement', 'agreement (action)', '.3f'), ('action_change', 'action change vs BC', '.4f'))
    print(f"{'seed':>4} {'policy':<22} " + ' '.join(f'{title:>20}' for _, title, _ in columns))

    def line(seed, name, row):
        print(f'{seed:>4} {name:<22} ' + ' '.join(f'{row[key]:>20{fmt}}' for key, _, fmt in columns))
    for seed, run in runs.items():
        for name, row in run['results'].items():
            line(seed, name, row)
    if len(runs) > 1:
        for name in first['results']:
            line('mean', name, {key: np.mean([r['results'][name][key] for r in runs.values()])
                                for key, _, _ in columns})
    if args.label_counts:
        print_curve(args, runs)
    print(f'total wall time {total_s:.0f} s')
    if args.json:
        args.json.write_text(json.dumps({'args': vars(args) | {'json': str(args.json)}, 'runs': runs,
                                         'wall_s': total_s}, indent=2, default=str))
    return 0


if __name__ == '__main__':
    sys.exit(main())
