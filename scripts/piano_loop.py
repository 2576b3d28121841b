# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The robot pianist's loop, headless: SAC pretraining to a rated, CPL-fine-tuned pianist, with a report.

    scripts/piano_loop.sh                                  # every stage, settings from scripts/piano_loop.yaml
    scripts/piano_loop.sh --set pretrain_max_wall_s=600    # override settings
    scripts/piano_loop.sh --human                          # rate the clips on the page instead (rating mode)
    scripts/piano_loop.sh --fresh                          # redo every stage

Stages: pretrain (SAC (DroQ) on the song, `train --config piano_sac.yaml`; resumes from its checkpoint) ->
performances (bags, clips with sound, the rating page's pairs file) -> ratings (scripted annotators, or people
on the page) -> preferences (pairs of rated clips) -> cpl (per seed of cpl_seeds: CPL of the SAC actor, the SFT
baseline, and CPL on the same pairs with labels flipped at random, which shows what fine-tuning alone does) ->
evaluate (F1 and rated quality of every policy beside the zero-action and random baselines, and its ONNX export's F1
through the graph: the policy node playing the piano node) -> report
(report.md, report.json, plots).
A finished stage leaves <stage>.done and is skipped on the next run, so an interrupted run resumes.
"""

import argparse
import json
import os
from pathlib import Path
import sys
import time

import numpy as np
import yaml

WS = Path(__file__).resolve().parents[1]
CONFIG_DIR = WS / 'src' / 'rlhf_training' / 'config'
# fine-tuning of the SAC actor on the preferences: SFT, CPL, and CPL on randomly flipped labels (a control)
FINE_TUNING = ('sft', 'cpl', 'cpl shuffled')
STAGES = ('pretrain', 'performances', 'ratings', 'preferences', 'cpl', 'evaluate', 'report')


class PianoLoop:
    def __init__(self, settings, human=False, fresh=False):
        self.s = settings
        self.out = (WS / settings['out_dir']).resolve()
        self.human, self.fresh = human, fresh
        self.timings = {}
        self.out.mkdir(parents=True, exist_ok=True)

    def path(self, *parts):
        return self.out.joinpath(*parts)

    def stage(self, name):
        marker = self.path(f'{name}.done')
        if marker.is_file() and not self.fresh:
            print(f'[piano] {name}: done before (delete {marker.name} to redo)', flush=True)
            return
        print(f'\n[piano] === {name} ===  load average {os.getloadavg()[0]:.2f}', flush=True)
        start = time.monotonic()
        getattr(self, name)()
        self.timings[name] = time.monotonic() - start
        marker.write_text(f'{self.timings[name]:.1f} s\n')

    def segments(self):
        from rlhf_preference.segments import Segment
        return [Segment.from_dict(d) for d in json.loads(self.path('segments.json').read_text())]

    # -- stages ------------------------------------------------------------------------------------------
    def pretrain(self):
        from rlhf_training.train import run_training
        from rlhf_training.trainer import print_summary
        options = {'preset': 'cpu', 'song': self.s['song']}
        summary = run_training(str(CONFIG_DIR / self.s['pretrain_config']), [
            f'out_dir={self.path("sac")}', f'steps={self.s["pretrain_steps"]}',
            f'max_wall_s={self.s["pretrain_max_wall_s"]}', f'env_options={json.dumps(options)}'])
        print_summary(summary)

    def performances(self):
        from rlhf_training.piano_performances import record_performances
        segments = record_performances(self.path('sac'), self.path('perf'), self.s['noise_levels'],
                                       self.s['repeats'], camera_size=self.s['clip_size'], source='sac',
                                       smoothing_levels=self.s['smoothing_levels'], window_s=self.s['window_s'])
        self.path('segments.json').write_text(json.dumps([s.to_dict() for s in segments], indent=1))

    def ratings(self):
        if self.human:
            print(f'[piano] rate the clips on the page, then run the remaining stages (they read the database):\n'
                  f'  server --pairs {self.path("perf", "pairs.json")} --db {self.path("labels.sqlite")} '
                  f'--mode rating --annotators <names>\n'
                  f'  scripts/piano_loop.sh --only preferences cpl evaluate report')
            raise SystemExit(0)
        from rlhf_training.piano_cpl import ScriptedPianoRater, rate_performances
        rater = ScriptedPianoRater(**self.s['rater'])
        rate_performances(self.segments(), self.path('ratings.json'), self.s['annotators'], rater)

    def preferences(self):
        from rlhf_preference.ratings import main as ratings_main
        source = (['--db', str(self.path('labels.sqlite'))] if self.path('labels.sqlite').is_file()
                  else ['--ratings', str(self.path('ratings.json'))])
        pairs = 'all' if self.s['window_s'] is None else 'same_window'   # windows: one passage, two performances
        if ratings_main([*source, '--output', str(self.path('preferences.json')), '--pairs', pairs]) != 0:
            raise SystemExit('[piano] preferences: the ratings could not be read (see above)')

    def fine_tuned(self):
        """{name: run directory} of the fine-tuning runs, one per method and seed."""
        return {f'{method} seed {seed}': self.path(method.replace(' ', '_'), f'seed{seed}')
                for method in FINE_TUNING for seed in self.s['cpl_seeds']}

    def cpl(self):
        from rlhf_training.piano_cpl import run_piano_cpl
        from rlhf_training.trainer import print_summary
        prefs = json.loads(self.path('preferences.json').read_text())
        flip = np.random.default_rng(0).random(len(prefs['records'])) < 0.5
        for record, flipped in zip(prefs['records'], flip):
            record['label'] = 1.0 - record['label'] if flipped else record['label']
        self.path('preferences_shuffled.json').write_text(json.dumps(prefs))
        # SFT: the same fine-tuning with only the imitation of each pair's preferred clip (no preference term)
        settings = {'cpl': self.s['cpl'], 'cpl shuffled': self.s['cpl'],
                    'sft': {**self.s['cpl'], 'alpha': 0.0, 'bc_weight': 1.0}}
        for name, out in self.fine_tuned().items():
            method, seed = name.split(' seed ')
            overrides = [f'{k}={json.dumps(v)}' for k, v in {**settings[method], 'seed': int(seed)}.items()]
            labels = 'preferences_shuffled.json' if method == 'cpl shuffled' else 'preferences.json'
            print(f'[piano] {name}', flush=True)
            print_summary(run_piano_cpl(self.path('sac'), self.path(labels), out, overrides))

    def evaluate(self):
        from rlhf_training.envs import make_piano_env
        from rlhf_training.piano_cpl import ScriptedPianoRater, compare
        from rlhf_training.piano_performances import actor_policy, load_piano_actor
        pretrained, options = load_piano_actor(self.path('sac'))
        policies = {'pretrained': actor_policy(pretrained)}
        policies.update({name: actor_policy(load_piano_actor(out)[0]) for name, out in self.fine_tuned().items()})
        env = make_piano_env(**options)
        rater = ScriptedPianoRater(**{**self.s['rater'], 'noise': 0.0})
        try:
            rows = compare(policies, env, rater, repeats=self.s['eval_repeats'], noise=self.s['eval_noise'])
        finally:
            env.close()
        self.through_graph(rows)
        for method in FINE_TUNING:   # the mean over seeds, +- the spread of the seeds' means
            runs = [r for name, r in rows.items() if name.startswith(f'{method} seed')]
            rows[f'{method} mean'] = {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}
            rows[f'{method} mean'].update({f'{k}_std': float(np.std([r[k] for r in runs])) for k in ('f1', 'rating')})
        prefs = json.loads(self.path('preferences.json').read_text())
        report = {'song': self.s['song'], 'evaluation': rows, 'rated_clips': len(self.segments()),
                  'pairs': len(prefs['records']), 'load_average': os.getloadavg()}
        self.path('report.json').write_text(json.dumps(report, indent=1))
        print(f'mean of {self.s["eval_repeats"]} performances with action noise {self.s["eval_noise"]} each')
        print(f'{"policy":<20}{"F1":>7}{"prec":>7}{"recall":>7}{"wrong/frame":>13}{"finger motion":>15}'
              f'{"rating":>14}')
        for name, r in rows.items():
            print(f'{name:<20}{r["f1"]:>7.3f}{r["precision"]:>7.3f}{r["recall"]:>7.3f}{r["wrong_presses"]:>13.3f}'
                  f'{r["finger_motion"]:>15.4f}{r["rating"]:>8.1f} +-{r.get("rating_std", 0.0):>4.1f}'
                  f'{"  graph F1 " + format(r["graph_f1"], ".3f") if "graph_f1" in r else ""}')

    def through_graph(self, rows):
        """Each policy's ONNX export played by the policy node on the piano node (``graph_f1``: mean F1)."""
        from rlhf_training.piano_graph import play_through_graph
        exports = {'pretrained': self.path('sac'), **self.fine_tuned()}
        for name, run in exports.items():
            contract = run / 'export' / 'contract.yaml'
            if not self.s['graph_performances'] or not contract.is_file():
                continue   # a task that observes the previous reward exports nothing: no robot could run it
            logs = self.path('graph', name.replace(' ', '_'))
            logs.mkdir(parents=True, exist_ok=True)
            scores = [play_through_graph(contract, seed=seed, log_dir=logs)[0].f1
                      for seed in range(self.s['graph_performances'])]
            rows[name]['graph_f1'] = float(np.mean(scores))
            print(f'[piano] {name} through the graph: F1 {", ".join(f"{f:.3f}" for f in scores)}', flush=True)

    def report(self):
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt

        from rlhf_training.trainer import load_checkpoint
        report = json.loads(self.path('report.json').read_text())
        history = load_checkpoint(self.path('sac'))['extra']['history']
        rows = report['evaluation']
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
        axes[0].plot([h['step'] for h in history], [h.get('eval_f1') for h in history], marker='o', label='SAC')
        for name, style in (('zero action', '--'), ('random action', ':')):
            axes[0].axhline(rows[name]['f1'], color='gray', ls=style, lw=1, label=name)
        axes[0].set(xlabel='environment steps', ylabel='key-press F1', ylim=(0, 1), title='SAC (DroQ) pretraining')
        axes[0].legend(fontsize=8)
        names = [n for n in rows if ' seed ' not in n]   # the seeds show as dots on their mean's bars
        x = range(len(names))
        axes[1].bar([i - 0.2 for i in x], [rows[n]['f1'] for n in names], 0.4, label='F1')
        axes[1].bar([i + 0.2 for i in x], [rows[n]['rating'] / 100 for n in names], 0.4, label='rating / 100')
        for i, name in enumerate(names):
            seeds = [r for n, r in rows.items() if name.endswith(' mean') and n.startswith(name[:-4] + 'seed')]
            axes[1].plot([i - 0.2] * len(seeds), [r['f1'] for r in seeds], 'k.', ms=4)
            axes[1].plot([i + 0.2] * len(seeds), [r['rating'] / 100 for r in seeds], 'k.', ms=4)
        axes[1].set_xticks(list(x), [n.replace(' mean', '').replace(' ', '\n') for n in names], fontsize=8)
        axes[1].set(ylim=(0, 1), title=f'policies on the song (mean of {self.s["eval_repeats"]} performances)')
        axes[1].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(self.path('report.png'), dpi=110)
        plt.close(fig)
        pairing = ('pairs of windows of the same passage' if self.s['window_s'] is not None
                   else 'every pair of rated clips')
        base = rows['pretrained']
        change = {m: (rows[f'{m} mean']['rating'] - base['rating'], rows[f'{m} mean']['f1'] - base['f1'])
                  for m in FINE_TUNING}
        lines = [f'# Robot pianist: {report["song"]}', '',
                 f'{report["rated_clips"]} rated clips, {report["pairs"]} preference pairs ({pairing}). Load average '
                 f'at evaluation: {", ".join(f"{v:.2f}" for v in report["load_average"])}.', '',
                 *(f'- {m} (mean of {len(self.s["cpl_seeds"])} seeds) against the pretrained policy: rating '
                   f'{rating:+.1f}, F1 {f1:+.3f}' for m, (rating, f1) in change.items()),
                 '', '![curves](report.png)', '',
                 f'Each policy: the mean of {self.s["eval_repeats"]} performances with action noise '
                 f'{self.s["eval_noise"]} (+- their standard deviation; mean rows: +- the spread over seeds). '
                 f'Through the graph: the ONNX export played by the policy node on the piano node over DDS, the mean '
                 f'of {self.s["graph_performances"]} performances.', '',
                 '| policy | F1 | precision | recall | wrong keys / frame | finger motion (rad/step) | rating | '
                 'F1 through the graph |',
                 '|---|---|---|---|---|---|---|---|']
        for name, r in rows.items():
            graph = f'{r["graph_f1"]:.3f}' if 'graph_f1' in r else '-'
            lines.append(f'| {name} | {r["f1"]:.3f} | {r["precision"]:.3f} | {r["recall"]:.3f} | '
                         f'{r["wrong_presses"]:.3f} | {r["finger_motion"]:.4f} | '
                         f'{r["rating"]:.1f} +- {r.get("rating_std", 0.0):.1f} | {graph} |')
        last = history[-1] if history else {}
        lines += ['', f'SAC: {last.get("step", 0)} environment steps, {last.get("wall_s", 0):.0f} s wall, '
                      f'{last.get("cpu_s", 0):.0f} s CPU (load {last.get("load_1min", float("nan")):.1f} at the end).',
                  '', 'Silent frames played silently score F1 = 1, so read every F1 against the zero-action row.']
        self.path('report.md').write_text('\n'.join(lines) + '\n')
        print(f'[piano] report: {self.path("report.md")}')


def load_settings(path, overrides):
    settings = yaml.safe_load(Path(path).read_text())
    for item in overrides:
        key, sep, value = item.partition('=')
        if not sep or key not in settings:
            raise SystemExit(f'piano_loop: --set {item!r}: expected key=value with a key of {path}: '
                             f'{", ".join(settings)}')
        value = yaml.safe_load(value)
        settings[key] = {**settings[key], **value} if isinstance(settings[key], dict) else value
    return settings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=str(WS / 'scripts' / 'piano_loop.yaml'), help='settings (YAML)')
    parser.add_argument('--set', action='append', default=[], metavar='KEY=VALUE', help='override a setting')
    parser.add_argument('--human', action='store_true', help='rate the clips on the page (rating mode)')
    parser.add_argument('--fresh', action='store_true', help='redo every stage')
    parser.add_argument('--only', nargs='*', choices=STAGES, help='run only these stages')
    args = parser.parse_args(argv)
    loop = PianoLoop(load_settings(args.config, args.set), human=args.human, fresh=args.fresh)
    start = time.monotonic()
    for name in STAGES:
        if not args.only or name in args.only:
            loop.stage(name)
    print('\n[piano] stage            seconds')
    for name, seconds in loop.timings.items():
        print(f'[piano] {name:<16} {seconds:8.1f}')
    print(f'[piano] total            {time.monotonic() - start:8.1f}   (artifacts under {loop.out})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
