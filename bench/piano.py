# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The robot pianist on this CPU: SAC update throughput, F1 learning curves, and CPL from ratings.

    python bench/piano.py throughput [--batch 256 --hidden 256 256 --threads 1 --updates 30]
    python bench/piano.py curve RUN [RUN ...] [--plot curve.png]   # run dirs of train --config piano_sac*.yaml
    python bench/piano.py baselines [--song TwinkleTwinkleLittleStar]
    python bench/piano.py cpl PIANO_LOOP_DIR                                # the report of scripts/piano_loop.py
    python bench/piano.py graph CONTRACT [CONTRACT ...] [--seeds 0 1 2]     # exported policies through the graph

throughput: the product's SAC (DroQ) update (rlhf_training.sac.SACAgent.update, UTD 1) against a minimal
re-implementation of the same update written here in plain torch (same networks, batch, optimiser, threads):
CPU ms per update, each measured over the same number of updates, interleaved, median of rounds.
curve: F1 (with precision, recall) against environment steps, wall and CPU seconds from each run's
checkpoint history, printed beside the zero-action and random-action baselines of the same song.
graph: exported piano policies (contract.yaml of a SAC or CPL export) played by the policy node: offline through
the node's control loop (ONNX Runtime, limiter, ramp; rlhf_training.piano_eval.control_loop_policy) with the node's
defaults and with the piano's settings (config/policy_piano.yaml), and through the real graph (piano node + policy
node over DDS, rlhf_training.piano_graph) with the piano's settings, one performance per seed.
Every figure is printed with the load average: this 2-core machine is shared.
"""

import argparse
import os
from pathlib import Path
import statistics
import sys
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812


def load_line():
    return 'load average (1, 5, 15 min): ' + ', '.join(f'{x:.2f}' for x in os.getloadavg())


# -- a minimal SAC (DroQ) update, written independently of rlhf_training.sac ---------------------------------
class MinimalSAC:
    """Actor (state MLP -> 64 features -> hidden -> mean, log_std), two DroQ critics, target, temperature."""

    def __init__(self, obs_dim, act_dim, hidden, dropout=0.01, lr=3e-4, tau=0.01, discount=0.8):
        def mlp(sizes, droq=False):
            layers = []
            for a, b in zip(sizes[:-2], sizes[1:-1]):
                layers.append(nn.Linear(a, b))
                if droq:
                    layers += [nn.Dropout(dropout), nn.LayerNorm(b)]
                layers.append(nn.ReLU())
            layers.append(nn.Linear(sizes[-2], sizes[-1]))
            return nn.Sequential(*layers)
        self.actor = nn.Sequential(mlp([obs_dim, hidden[0], 64]), nn.ReLU(), mlp([64, *hidden, 2 * act_dim]))
        self.q1, self.q2 = (mlp([obs_dim + act_dim, *hidden, 1], droq=True) for _ in range(2))
        self.t1, self.t2 = (mlp([obs_dim + act_dim, *hidden, 1], droq=True) for _ in range(2))
        self.t1.load_state_dict(self.q1.state_dict())
        self.t2.load_state_dict(self.q2.state_dict())
        self.log_alpha = torch.tensor(np.log(1.2), dtype=torch.float32, requires_grad=True)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=lr)
        self.critic_opt = torch.optim.Adam([*self.q1.parameters(), *self.q2.parameters()], lr=lr)
        self.alpha_opt = torch.optim.Adam([self.log_alpha], lr=lr)
        self.tau, self.discount, self.target_entropy = tau, discount, -float(act_dim)

    def sample(self, obs):
        mean, raw = self.actor(obs).chunk(2, -1)
        log_std = -5.0 + 3.5 * (torch.tanh(raw) + 1.0)
        u = mean + log_std.exp() * torch.randn_like(mean)
        logp = (-0.5 * ((u - mean) / log_std.exp()).pow(2) - log_std - 0.5 * np.log(2 * np.pi)).sum(-1)
        logp = logp - (2.0 * (np.log(2.0) - u - F.softplus(-2.0 * u))).sum(-1)
        return torch.tanh(u), logp

    def update(self, batch):
        obs, act, rew, nxt, term = batch
        with torch.no_grad():
            a2, logp2 = self.sample(nxt)
            x2 = torch.cat([nxt, a2], -1)
            q_next = torch.min(self.t1(x2), self.t2(x2)).squeeze(-1) - self.log_alpha.exp() * logp2
            target = rew + self.discount * (1.0 - term) * q_next
        x = torch.cat([obs, act], -1)
        critic_loss = F.mse_loss(self.q1(x).squeeze(-1), target) + F.mse_loss(self.q2(x).squeeze(-1), target)
        self.critic_opt.zero_grad()
        critic_loss.backward()
        self.critic_opt.step()
        with torch.no_grad():
            for net, tgt in ((self.q1, self.t1), (self.q2, self.t2)):
                for p, tp in zip(net.parameters(), tgt.parameters()):
                    tp.mul_(1.0 - self.tau).add_(p, alpha=self.tau)
        a, logp = self.sample(obs)
        xa = torch.cat([obs, a], -1)
        actor_loss = (self.log_alpha.exp().detach() * logp - 0.5 * (self.q1(xa) + self.q2(xa)).squeeze(-1)).mean()
        self.actor_opt.zero_grad()
        actor_loss.backward()
        self.actor_opt.step()
        alpha_loss = -(self.log_alpha.exp() * (logp.detach() + self.target_entropy)).mean()
        self.alpha_opt.zero_grad()
        alpha_loss.backward()
        self.alpha_opt.step()


def throughput(args):
    from rlhf_training.config import SACConfig
    from rlhf_training.sac import ReplayBuffer, SACAgent
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    obs_dim, act_dim = args.obs_dim, args.act_dim
    cfg = SACConfig(hidden_dims=list(args.hidden), batch_size=args.batch, utd_ratio=1, discount=0.8)
    product = SACAgent(obs_dim, act_dim, cfg)
    minimal = MinimalSAC(obs_dim, act_dim, list(args.hidden))
    buffer = ReplayBuffer(obs_dim, act_dim, 10_000)
    rng = np.random.default_rng(0)
    for _ in range(5000):
        buffer.add(rng.normal(size=obs_dim), rng.uniform(-1, 1, act_dim), rng.random(), rng.normal(size=obs_dim),
                   False)

    def minimal_update():
        b = buffer.sample(args.batch)
        minimal.update((b['obs'], b['actions'], b['rewards'], b['next_obs'], b['terminated']))

    runs = {'product (SACAgent.update)': lambda: product.update(buffer), 'minimal (this bench)': minimal_update}
    times = {name: [] for name in runs}
    for fn in runs.values():
        fn()   # warm-up
    for _ in range(args.rounds):
        for name, fn in runs.items():
            c0 = time.process_time()
            for _ in range(args.updates):
                fn()
            times[name].append(1000.0 * (time.process_time() - c0) / args.updates)
    print(f'SAC (DroQ) update, UTD 1: obs {obs_dim}, action {act_dim}, hidden {list(args.hidden)}, batch {args.batch}, '
          f'{args.threads} torch thread(s), {args.rounds} rounds x {args.updates} updates; {load_line()}')
    print(f'{"implementation":<28}{"CPU ms/update (median)":>24}{"updates/s of CPU":>18}')
    for name, values in times.items():
        med = statistics.median(values)
        print(f'{name:<28}{med:>24.1f}{1000.0 / med:>18.1f}')
    ratio = statistics.median(times['minimal (this bench)']) / statistics.median(times['product (SACAgent.update)'])
    rounds = [m / p for m, p in zip(times['minimal (this bench)'], times['product (SACAgent.update)'])]
    quartiles = np.percentile(rounds, [25, 75])
    print(f'product throughput / minimal throughput: {ratio:.2f}x (floor: >= 1.0x); per-round ratios: median '
          f'{statistics.median(rounds):.2f}x, quartiles {quartiles[0]:.2f}-{quartiles[1]:.2f}x')
    return 0


def _history(run):
    """(evaluation rows, config) of a SAC run directory, or of a JSON file {'history': rows, 'config': ...}."""
    import json
    if str(run).endswith('.json'):
        data = json.loads(Path(run).read_text())
        rename = {'f1': 'eval_f1', 'precision': 'eval_precision', 'recall': 'eval_recall', 'return': 'eval_return'}
        rows = [{rename.get(k, k): v for k, v in row.items()} for row in data['history']]
        for row in rows:
            if isinstance(row.get('load'), list):
                row['load_1min'] = row['load'][0]
        return rows, data.get('config', {})
    from rlhf_training.trainer import load_checkpoint
    state = load_checkpoint(run)
    return state['extra'].get('history', []), state.get('config', {})


def _label(run):
    path = Path(run)
    return path.parent.name if path.suffix == '.json' else path.name


def curve(args):
    from rlhf_sim.piano import PianoEnv
    from rlhf_training.envs import make_piano_env
    from rlhf_training.piano_eval import baselines
    runs = {}
    for run in args.runs:
        runs[run], config = _history(run)
    options = dict(config.get('env_options', {}))
    env = make_piano_env(**options) if options else PianoEnv()
    base = baselines(env)
    env.close()
    print(f'song {options.get("song", "TwinkleTwinkleLittleStar")}: zero-action F1 {base["zero"]["f1"]:.3f}, '
          f'random-action F1 {base["random"]["f1"]:.3f}; {load_line()}')
    print(f'{"run":<28}{"env steps":>10}{"wall s":>9}{"CPU s":>9}{"load":>6}{"F1":>7}{"prec":>7}{"recall":>7}'
          f'{"return":>8}')
    for run, rows in runs.items():
        for row in rows:
            print(f'{_label(run):<28}{row["step"]:>10}{row.get("wall_s", float("nan")):>9.0f}'
                  f'{row.get("cpu_s", float("nan")):>9.0f}{row.get("load_1min", float("nan")):>6.1f}'
                  f'{row.get("eval_f1", float("nan")):>7.3f}{row.get("eval_precision", float("nan")):>7.3f}'
                  f'{row.get("eval_recall", float("nan")):>7.3f}{row.get("eval_return", float("nan")):>8.1f}')
    if args.plot:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
        for run, rows in runs.items():
            f1 = [r.get('eval_f1', np.nan) for r in rows]
            for ax, key in zip(axes, ('step', 'wall_s', 'cpu_s')):
                ax.plot([r.get(key, np.nan) for r in rows], f1, marker='o', label=_label(run))
        for ax, label in zip(axes, ('environment steps', 'wall seconds (shared, loaded machine)', 'CPU seconds')):
            ax.axhline(base['zero']['f1'], color='gray', ls='--', lw=1, label='zero action')
            ax.axhline(base['random']['f1'], color='gray', ls=':', lw=1, label='random action')
            ax.set_xlabel(label)
            ax.set_ylabel('key-press F1')
            ax.set_ylim(0, 1)
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)
        print(f'wrote {args.plot}')
    return 0


def show_baselines(args):
    from rlhf_sim.piano import PianoEnv, PianoTask
    from rlhf_training.piano_eval import baselines
    env = PianoEnv(PianoTask(song=args.song, hands=args.hands, n_steps_lookahead=args.lookahead))
    c0, w0 = time.process_time(), time.perf_counter()
    base = baselines(env)
    steps = 2 * env.episode_length
    print(f'{args.song}, {args.hands} hand(s), lookahead {args.lookahead}: {steps} env steps, '
          f'{1000 * (time.process_time() - c0) / steps:.1f} ms CPU / {1000 * (time.perf_counter() - w0) / steps:.1f} '
          f'ms wall per step; {load_line()}')
    env.close()
    print(f'{"policy":<10}{"F1":>7}{"prec":>7}{"recall":>7}{"sustain F1":>12}{"wrong keys/frame":>18}')
    for name, s in base.items():
        print(f'{name:<10}{s["f1"]:>7.3f}{s["precision"]:>7.3f}{s["recall"]:>7.3f}{s["sustain_f1"]:>12.3f}'
              f'{s["wrong_presses"]:>18.3f}')
    return 0


def cpl(args):
    import json
    report = json.loads((Path(args.loop_dir) / 'report.json').read_text())
    print(f'CPL from ratings ({report.get("rated_clips")} rated clips, {report.get("pairs")} pairs); {load_line()}')
    print(f'{"policy":<14}{"F1":>7}{"rated quality":>15}{"wrong keys/frame":>18}{"action change":>15}')
    for name, s in report['evaluation'].items():   # baselines, pretrained, SFT and CPL per seed and their means
        print(f'{name:<14}{s["f1"]:>7.3f}{s["rating"]:>15.1f}{s["wrong_presses"]:>18.3f}{s["action_change"]:>15.4f}')
    return 0


def graph(args):
    from rlhf_policy.control_loop import LOOP_SETTINGS
    from rlhf_policy.graph import piano_policy_parameters, piano_task
    from rlhf_training.envs import make_piano_env
    from rlhf_training.piano_eval import control_loop_policy, onnx_runner, play
    from rlhf_training.piano_graph import play_through_graph
    piano = piano_policy_parameters()
    print(f'piano settings of the policy node: {piano}; {load_line()}')
    piano = {k: v for k, v in piano.items() if k in LOOP_SETTINGS}   # offline, every step is a tick anyway
    print(f'{"contract":<44}{"seed":>5}{"loop, defaults":>16}{"loop, piano":>13}{"graph":>8}{"frames lost":>13}'
          f'{"missed ticks":>14}')
    rows = []
    for path in args.contracts:
        contract, runner = onnx_runner(path)
        env = make_piano_env(**piano_task(contract))
        for seed in args.seeds:
            default = play(env, control_loop_policy(contract, runner, env), seed=seed)[0].f1
            tuned = play(env, control_loop_policy(contract, runner, env, **piano), seed=seed)[0].f1
            score, info = play_through_graph(path, seed=seed)
            rows.append((default, tuned, score.f1))
            label = str(Path(path).parent)[-44:]
            print(f'{label:<44}{seed:>5}{default:>16.3f}{tuned:>13.3f}{score.f1:>8.3f}{info["frames_missing"]:>13}'
                  f'{info["missed_ticks"]:>14}', flush=True)
        env.close()
    mean = np.mean(rows, axis=0)
    print(f'{"mean":<49}{mean[0]:>16.3f}{mean[1]:>13.3f}{mean[2]:>8.3f}; {load_line()}')
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='what', required=True)
    t = sub.add_parser('throughput')
    t.add_argument('--batch', type=int, default=256)
    t.add_argument('--hidden', type=int, nargs='+', default=[256, 256])
    t.add_argument('--threads', type=int, default=1)
    t.add_argument('--updates', type=int, default=5, help='updates per round (implementations alternate by round)')
    t.add_argument('--rounds', type=int, default=16)
    t.add_argument('--obs-dim', type=int, default=295)   # the CPU preset: one hand, lookahead 1 (its contract)
    t.add_argument('--act-dim', type=int, default=20)
    c = sub.add_parser('curve')
    c.add_argument('runs', nargs='+')
    c.add_argument('--plot', default='')
    b = sub.add_parser('baselines')
    b.add_argument('--song', default='TwinkleTwinkleLittleStar')
    b.add_argument('--hands', default='right')
    b.add_argument('--lookahead', type=int, default=1)
    p = sub.add_parser('cpl')
    p.add_argument('loop_dir')
    g = sub.add_parser('graph')
    g.add_argument('contracts', nargs='+', help='contract.yaml of exported piano policies')
    g.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    args = parser.parse_args(argv)
    return {'throughput': throughput, 'curve': curve, 'baselines': show_baselines, 'cpl': cpl,
            'graph': graph}[args.what](args)


if __name__ == '__main__':
    sys.exit(main())
