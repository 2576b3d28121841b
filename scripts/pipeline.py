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
same seeds) -> report (Markdown with plots).

A stage writes its outputs into a staging folder and moves them into place only when it succeeded, then leaves a
marker: the next run skips finished stages (an interrupted run resumes where it stopped), and a stage that is redone
replaces its outputs instead of adding to them. ``--fresh`` starts from nothing (the whole run folder is removed).
"""

import argparse
import json
from pathlib import Path
import shlex
import shutil
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
        self.timings = {}
        if fresh and self.out.exists():
            print(f'[pipeline] --fresh: removing {self.out}', flush=True)
            shutil.rmtree(self.out)
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / 'logs').mkdir(exist_ok=True)
        self.staging = None    # while a stage runs: where its outputs are written

    def path(self, *parts):
        """A finished stage's output (an input of later stages)."""
        return self.out.joinpath(*parts)

    def output(self, *parts):
        """An output of the running stage: written under its staging folder, moved into place when it succeeds."""
        path = self.staging.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

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

    def stage(self, name, outputs, body):
        """Run ``body`` unless an earlier run finished it.

        Its ``outputs`` (paths under the run folder) replace whatever an earlier, unfinished or redone, run left there,
        all of them after ``body`` succeeded.
        """
        marker = self.path('.done', name)
        if marker.exists():
            print(f'[pipeline] {name}: done in an earlier run (kept; --fresh redoes everything)', flush=True)
            return
        print(f'\n[pipeline] === {name} ===', flush=True)
        self.staging = self.path('.staging', name)
        if self.staging.exists():
            shutil.rmtree(self.staging)    # what an interrupted attempt left
        self.staging.mkdir(parents=True)
        start = time.monotonic()
        try:
            body()
            for rel in outputs:
                staged, final = self.staging / rel, self.path(rel)
                if not staged.exists():
                    raise StageError(f'stage {name}: it did not write {rel}')
                if final.is_dir():
                    shutil.rmtree(final)
                elif final.exists():
                    final.unlink()
                final.parent.mkdir(parents=True, exist_ok=True)
                staged.rename(final)
        finally:
            self.staging = None
        shutil.rmtree(self.path('.staging', name), ignore_errors=True)
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
                            '--operator-name', operator, '--output-dir', self.output('data', 'demos'),
                            *self.camera_size()])

    def camera_size(self):
        """People judge clips from a camera of at least 320x240 (the annotation page refuses smaller clips)."""
        if not self.s['human']:
            return []
        width, height = self.s['human_camera_size']
        return ['--camera-width', width, '--camera-height', height]

    def train(self, stage, algorithm, **overrides):
        """`train` with the algorithm's config, the shared policy keys, the stage's keys and ``overrides``."""
        config = SRC / 'rlhf_training' / 'config' / f'{algorithm}.yaml'
        keys = {**self.s['policy'], **self.s.get(algorithm, {}), **overrides}
        items = [f'{k}={json.dumps(v) if isinstance(v, list) else v}' for k, v in keys.items()]
        self.run(stage, ['train', '--config', config, f'out_dir={self.output("runs", stage)}', 'progress=false',
                         'resume=false', *items])

    def evaluate(self, stage, policy, episodes, seed, record=False):
        argv = ['evaluate', '--contract', self.path('runs', policy, 'export', 'contract.yaml'),
                '--task', self.s['task'], '--episodes', episodes, '--seed', seed,
                '--timeout-s', self.s['eval_timeout_s'], '--output', self.output('eval', f'{stage}.json'),
                '--stats-file', self.output('eval', f'{stage}_ticks.csv'), '--note', policy]
        if record:
            argv += ['--record', 'true', '--output-dir', self.output('data', stage), *self.camera_size()]
        self.run(stage, argv)

    def label(self):
        db, pairs = self.output('prefs', 'labels.sqlite'), self.path('prefs', 'pairs.json')
        if self.s['human']:
            self.label_on_page(db, pairs)
        else:
            self.run('label', ['annotate_scripted', '--db', db, '--pairs', pairs,
                               '--annotators', self.s['annotators'], '--temperature', self.s['annotator_temperature'],
                               '--min-annotations-per-pair', self.s['annotators']])
        self.run('label', ['export_preferences', '--db', db, '--output', self.output('prefs', 'preferences.json')])

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
        """(name, outputs, body) of every stage, in order."""
        s = self.s
        return [
            ('demos', ['data/demos'], self.demonstrations),
            ('bc', ['runs/bc'], lambda: self.train('bc', 'bc', data_dir=self.path('data', 'demos'))),
            # on the demonstrated scenes, so that its segments pair with the operators'
            ('rollouts_bc', ['data/rollouts_bc', 'eval/rollouts_bc.json', 'eval/rollouts_bc_ticks.csv'],
             lambda: self.evaluate('rollouts_bc', 'bc', s['rollout_episodes'], 0, record=True)),
            ('pairs', ['prefs/pairs.json', 'prefs/clips'], lambda: self.run('pairs', [
                'make_pairs', '--data', self.path('data', 'demos'), '--source', 'operators',
                '--data', self.path('data', 'rollouts_bc'), '--source', 'bc_policy',
                '--task', s['task'], '--num-pairs', s['num_pairs'], '--pairing', 'same_start',
                '--segment-length', s['segment_length_s'], '--stride', s['segment_stride_s'],
                '--output', self.output('prefs', 'pairs.json')])),
            ('label', ['prefs/labels.sqlite', 'prefs/preferences.json'], self.label),
            ('reward', ['runs/reward'],
             lambda: self.train('reward', 'reward', preferences=self.path('prefs', 'preferences.json'))),
            ('cpl', ['runs/cpl'], lambda: self.train('cpl', 'cpl', pretrained=self.path('runs', 'bc'),
                                                     preferences=self.path('prefs', 'preferences.json'))),
            ('eval_bc', ['eval/eval_bc.json', 'eval/eval_bc_ticks.csv'],
             lambda: self.evaluate('eval_bc', 'bc', s['eval_episodes'], s['eval_seed'])),
            ('eval_cpl', ['eval/eval_cpl.json', 'eval/eval_cpl_ticks.csv'],
             lambda: self.evaluate('eval_cpl', 'cpl', s['eval_episodes'], s['eval_seed'])),
            ('report', ['report'], self.report),
        ]

    def demonstrations(self):
        """Both operators into one data directory (BC learns from all of it)."""
        self.collect('careful', [0.0, 0.0, 0.0])
        self.collect('sloppy', self.s['sloppy_aim_offset'])

    def report(self):
        from pipeline_report import write_report

        write_report(self.out, self.s, self.output('report'))
        print(f'[pipeline] report: {self.path("report", "report.md")}', flush=True)


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
        for name, outputs, body in pipeline.all_stages():
            if args.only and name not in args.only:
                continue
            pipeline.stage(name, outputs, body)
    except StageError as err:
        print(f'[pipeline] error: {err}', file=sys.stderr)
        return 1
    total = time.monotonic() - start
    print('\n[pipeline] stage            seconds')
    for name, seconds in pipeline.timings.items():
        print(f'[pipeline] {name:<16} {seconds:8.1f}')
    print(f'[pipeline] total            {total:8.1f}')
    print(f'[pipeline] artifacts under {pipeline.out}: data/ (bags + catalogs), prefs/ (pairs, clips, labels, '
          f'preferences.json), runs/ (checkpoints, ONNX + contract, metrics.csv, tensorboard), eval/, '
          f'report/report.md')
    return 0


if __name__ == '__main__':
    sys.exit(main())
