# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The whole loop, headless in the simulator, as a user would run it: one console script per stage.

    scripts/pipeline.sh                         # every stage, settings from scripts/pipeline.yaml
    scripts/pipeline.sh --set eval_episodes=20  # override settings
    scripts/pipeline.sh --human                 # label on the Flask page instead of the scripted annotators
    scripts/pipeline.sh --fresh                 # redo every stage (otherwise finished stages are kept)

Stages: demonstrations (two scripted operators, careful and sloppy, on the same scenes) -> BC pretraining on
all of them -> recorded rollouts of the pretrained policy on those scenes through the graph -> preference pairs
(same scene, same time span) and clips -> labels (scripted annotators through the
label store the page uses, or people on the page) -> preference export -> Bradley-Terry reward ensemble ->
CPL fine-tuning -> evaluation of both policies through the graph (simulator + ONNX policy node over DDS,
same seeds) -> report (Markdown with plots). A finished stage leaves a marker and is skipped on the next run,
so an interrupted run resumes where it stopped.
"""

import argparse
import json
from pathlib import Path
import shlex
import subprocess
import sys
import time

import yaml

WS = Path(__file__).resolve().parents[1]
SRC = WS / 'src'


class StageError(RuntimeError):
    pass


class Pipeline:
    def __init__(self, settings, fresh=False):
        self.s = settings
        self.out = (WS / settings['out_dir']).resolve()
        self.fresh = fresh
        self.timings = {}
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / 'logs').mkdir(exist_ok=True)

    def path(self, *parts):
        return self.out.joinpath(*parts)

    def run(self, stage, argv):
        """Run one command; its output goes to the terminal and to logs/<stage>.log."""
        log = self.path('logs', f'{stage}.log')
        print(f'\n[pipeline] $ {shlex.join(map(str, argv))}', flush=True)
        with open(log, 'a') as f:
            f.write(f'$ {shlex.join(map(str, argv))}\n')
            proc = subprocess.Popen(list(map(str, argv)), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, cwd=WS)
            for line in proc.stdout:
                sys.stdout.write(line)
                f.write(line)
            if proc.wait() != 0:
                raise StageError(f'stage {stage}: `{argv[0]}` exited with {proc.returncode} (log: {log})')

    def stage(self, name, body):
        marker = self.path('.done', name)
        if marker.exists() and not self.fresh:
            print(f'[pipeline] {name}: done in an earlier run (kept; --fresh redoes it)', flush=True)
            return
        print(f'\n[pipeline] === {name} ===', flush=True)
        start = time.monotonic()
        body()
        self.timings[name] = time.monotonic() - start
        marker.parent.mkdir(exist_ok=True)
        marker.write_text(f'{self.timings[name]:.1f}\n')

    # ----- stages -----
    def collect(self, operator, aim_offset):
        """One scripted operator's attempts at scenes 0..demo_scenes-1, into data/demos (BC learns from all)."""
        s = self.s
        self.run(operator, ['collect', '--task', s['task'], '--device', 'expert', '--seed', 0,
                            '--num-episodes', s['demo_scenes'] * s['demo_attempts'], '--scene-count', s['demo_scenes'],
                            '--episode-timeout-s', s['demo_timeout_s'], '--success-settle-s', s['demo_settle_s'],
                            '--expert-noise', s['demo_noise'],
                            '--expert-aim-offset', ','.join(str(float(v)) for v in aim_offset),
                            '--operator-name', operator, '--output-dir', self.path('data', 'demos')])

    def train(self, stage, algorithm, **overrides):
        """`train` with the algorithm's config, the shared policy keys, the stage's keys and ``overrides``."""
        config = SRC / 'rlhf_training' / 'config' / f'{algorithm}.yaml'
        keys = {**self.s['policy'], **self.s.get(algorithm, {}), **overrides}
        items = [f'{k}={json.dumps(v) if isinstance(v, list) else v}' for k, v in keys.items()]
        self.run(stage, ['train', '--config', config, f'out_dir={self.path("runs", stage)}', 'progress=false',
                         'resume=false', *items])

    def evaluate(self, stage, policy, episodes, seed, record=False):
        argv = ['evaluate', '--contract', self.path('runs', policy, 'export', 'contract.yaml'),
                '--task', self.s['task'], '--episodes', episodes, '--seed', seed,
                '--timeout-s', self.s['eval_timeout_s'], '--output', self.path('eval', f'{stage}.json'),
                '--stats-file', self.path('eval', f'{stage}_ticks.csv'), '--note', policy]
        if record:
            argv += ['--record', 'true', '--output-dir', self.path('data', stage)]
        self.run(stage, argv)

    def label(self):
        db, pairs = self.path('prefs', 'labels.sqlite'), self.path('prefs', 'pairs.json')
        if self.s['human']:
            self.label_on_page(db, pairs)
        else:
            self.run('label', ['annotate_scripted', '--db', db, '--pairs', pairs,
                               '--annotators', self.s['annotators'], '--temperature', self.s['annotator_temperature'],
                               '--min-annotations-per-pair', self.s['annotators']])
        self.run('label', ['export_preferences', '--db', db, '--output', self.path('prefs', 'preferences.json')])

    def label_on_page(self, db, pairs):
        argv = ['server', '--pairs', pairs, '--db', db, '--port', self.s['port'], '--annotators', 'alice,bob,carol']
        print(f'[pipeline] $ {shlex.join(map(str, argv))}', flush=True)
        server = subprocess.Popen(list(map(str, argv)), cwd=WS)
        try:
            input(f'[pipeline] label on http://127.0.0.1:{self.s["port"]}/ (tokens above), then press Enter\n')
        finally:
            server.terminate()
            server.wait(timeout=30)

    def all_stages(self):
        s = self.s
        return [
            ('careful', lambda: self.collect('careful', [0.0, 0.0, 0.0])),
            ('sloppy', lambda: self.collect('sloppy', s['sloppy_aim_offset'])),
            ('bc', lambda: self.train('bc', 'bc', data_dir=self.path('data', 'demos'))),
            # on the demonstrated scenes, so that its segments pair with the operators'
            ('rollouts_bc', lambda: self.evaluate('rollouts_bc', 'bc', s['rollout_episodes'], 0, record=True)),
            ('pairs', lambda: self.run('pairs', [
                'make_pairs', '--data', self.path('data', 'demos'), '--source', 'operators',
                '--data', self.path('data', 'rollouts_bc'), '--source', 'bc_policy',
                '--task', s['task'], '--num-pairs', s['num_pairs'], '--pairing', 'same_start',
                '--segment-length', s['segment_length_s'], '--stride', s['segment_stride_s'],
                '--output', self.path('prefs', 'pairs.json')])),
            ('label', self.label),
            ('reward', lambda: self.train('reward', 'reward', preferences=self.path('prefs', 'preferences.json'))),
            ('cpl', lambda: self.train('cpl', 'cpl', pretrained=self.path('runs', 'bc'),
                                       preferences=self.path('prefs', 'preferences.json'))),
            ('eval_bc', lambda: self.evaluate('eval_bc', 'bc', s['eval_episodes'], s['eval_seed'])),
            ('eval_cpl', lambda: self.evaluate('eval_cpl', 'cpl', s['eval_episodes'], s['eval_seed'])),
            ('report', self.report),
        ]

    def report(self):
        from pipeline_report import write_report

        path = write_report(self.out, self.s)
        print(f'[pipeline] report: {path}', flush=True)


def load_settings(path, overrides):
    with open(path) as f:
        settings = yaml.safe_load(f)
    for item in overrides:
        key, sep, value = item.partition('=')
        if not sep or key not in settings:
            raise SystemExit(f'pipeline: --set {item!r}: expected key=value with a key of {path.name}: '
                             f'{", ".join(settings)}')
        value = yaml.safe_load(value)
        settings[key] = {**settings[key], **value} if isinstance(settings[key], dict) else value
    return settings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=str(WS / 'scripts' / 'pipeline.yaml'), help='settings (YAML)')
    parser.add_argument('--set', action='append', default=[], metavar='KEY=VALUE', help='override a setting')
    parser.add_argument('--human', action='store_true', help='label on the Flask page (interactive)')
    parser.add_argument('--fresh', action='store_true', help='redo every stage')
    parser.add_argument('--only', nargs='*', help='run only these stages')
    args = parser.parse_args(argv)
    settings = load_settings(Path(args.config), args.set)
    settings['human'] = settings['human'] or args.human
    pipeline = Pipeline(settings, fresh=args.fresh)
    start = time.monotonic()
    try:
        for name, body in pipeline.all_stages():
            if args.only and name not in args.only:
                continue
            pipeline.stage(name, body)
    except StageError as err:
        print(f'[pipeline] error: {err}', file=sys.stderr)
        return 1
    total = time.monotonic() - start
    print('\n[pipeline] stage            seconds')
    for name, seconds in pipeline.timings.items():
        print(f'[pipeline] {name:<16} {seconds:8.1f}')
    print(f'[pipeline] total            {total:8.1f}')
    print(f'[pipeline] artifacts under {pipeline.out}: data/ (bags + catalogs), prefs/ (pairs, clips, labels, '
          f'preferences.json), runs/ (checkpoints, ONNX + contract, metrics.csv, tensorboard), eval/, report.md')
    return 0


if __name__ == '__main__':
    sys.exit(main())
