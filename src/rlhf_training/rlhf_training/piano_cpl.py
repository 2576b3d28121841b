# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""CPL from ratings of piano performances, the scripted rater that stands in for people, and the evaluation.

- ``ScriptedPianoRater``: rates a performance 1-100 from what a listener and a teacher notice: the key-press F1,
  minus wrong keys per frame and finger motion (mean absolute change of the finger joints per step, rad), with
  Gaussian noise per annotator. At the same F1 it prefers fewer wrong keys and calmer fingers.
- ``rate_performances``: the ratings file (``rlhf_preference.ratings``) of recorded performances (or windows).
- ``performance_pairs``: a preference export over performances -> a ``SegmentPairDataset`` of the rated segments
  (the policy's observation vectors and normalised actions over each segment, from ``performance.npz``).
- ``run_piano_cpl``: CPL (the piano project's preset: ``CPLConfig``'s defaults) of a piano SAC checkpoint's actor;
  the Trainer's checkpoint of the fine-tuned policy goes to ``out_dir``, with the SAC actor's policy contract, and
  its ONNX model to ``out_dir/export`` for the policy node.
- ``compare``: F1 and rated quality of policies on the song, beside the zero-action and random baselines.

Console script: ``piano_cpl --checkpoint runs/piano_sac --preferences prefs.json --out runs/piano_cpl``.
"""

import argparse
import copy
import sys

import numpy as np

from rlhf_training.piano_eval import score_performance
from rlhf_training.piano_performances import clip_name, load_performance

FINGER_JOINTS = slice(2, 21)   # a hand's joints after the two wrist joints, before the two forearm slides


class ScriptedPianoRater:
    """Rating = 100 * (F1 - wrong_weight * wrong keys per frame - motion_weight * finger motion) + noise."""

    def __init__(self, wrong_weight=0.5, motion_weight=2.0, noise=3.0, seed=0):
        self.wrong_weight, self.motion_weight, self.noise = wrong_weight, motion_weight, noise
        self.rng = np.random.default_rng(seed)

    @staticmethod
    def features(perf):
        score = score_performance(perf['pressed'], perf['goal'], perf['sustain'], perf['goal_sustain'])
        q = np.asarray(perf['q'])
        motion = float(np.abs(np.diff(q[:, FINGER_JOINTS], axis=0)).mean()) if len(q) > 1 else 0.0
        return {'f1': score.f1, 'wrong_presses': score.wrong_presses, 'finger_motion': motion}

    def quality(self, perf):
        """The noiseless rating in [1, 100]."""
        f = self.features(perf)
        value = 100.0 * (f['f1'] - self.wrong_weight * f['wrong_presses'] - self.motion_weight * f['finger_motion'])
        return float(np.clip(value, 1.0, 100.0))

    def rate(self, perf):
        return float(np.clip(round(self.quality(perf) + self.noise * self.rng.standard_normal()), 1, 100))


def rate_performances(segments, out_path, annotators=3, rater=None, seed=0):
    """Every annotator rates every segment (a performance or a window of one); writes the ratings file."""
    from rlhf_preference.ratings import write_ratings_file
    rater = rater or ScriptedPianoRater(seed=seed)
    clips = []
    for segment in segments:
        perf = load_performance(segment)
        clips.append((segment, clip_name(segment), {f'scripted_{i}': rater.rate(perf) for i in range(annotators)}))
    return write_ratings_file(out_path, clips)


def performance_pairs(preferences_path):
    """(SegmentPairDataset of the rated segments, number of pairs) from a preference export over performances.

    A segment is a performance or a window of one: the policy's observation vectors and normalised actions.
    """
    from rlhf_preference.export import load_preferences
    from rlhf_training.datasets import SegmentPairDataset
    records = load_preferences(preferences_path)
    if not records:
        raise ValueError(f'{preferences_path}: no preference records')
    index, segments = {}, []

    def position(segment):
        if segment.segment_id not in index:
            try:
                perf = load_performance(segment)
            except FileNotFoundError as err:
                raise FileNotFoundError(f'{preferences_path}: {err}') from None
            index[segment.segment_id] = len(segments)
            segments.append(({'proprio': perf['obs'].astype(np.float32)}, perf['action'].astype(np.float32)))
        return index[segment.segment_id]
    pairs = [(position(r.segment_a), position(r.segment_b)) for r in records]
    return SegmentPairDataset(segments, pairs, [r.label for r in records]), len(records)


def run_piano_cpl(checkpoint, preferences, out_dir, overrides=()):
    """CPL of a piano SAC checkpoint's actor on rated performances; returns the Trainer summary."""
    from rlhf_training.config import load_config
    from rlhf_training.cpl import train_cpl
    from rlhf_training.piano_performances import load_piano_actor
    from rlhf_training.runs import contract_from_yaml, export_if_main
    from rlhf_training.trainer import load_checkpoint, seed_everything
    config = load_config(None, [f'out_dir={out_dir}', 'device=cpu', *overrides], algorithm='cpl')
    seed_everything(config.seed)
    actor, options = load_piano_actor(checkpoint)
    state = load_checkpoint(checkpoint)
    contract_yaml = state['extra'].get('contract_yaml')
    dataset, pairs = performance_pairs(preferences)
    summary = train_cpl(actor.train(), dataset, config, reference=copy.deepcopy(actor),
                        build_info=state['models']['policy']['build'],
                        extra={'env_options': options, 'pretrained': str(checkpoint),
                               **({'contract_yaml': contract_yaml} if contract_yaml else {})})
    summary['pairs'] = pairs
    if contract_yaml:   # a task a robot can observe (no previous reward): the policy node can run it
        summary = export_if_main(actor.eval(), contract_from_yaml(contract_yaml), config, summary)
    return summary


def compare(policies, env, rater=None, seed=10_000, repeats=1, noise=0.0):
    """{name: F1, precision, recall, wrong keys, finger motion, rated quality, ...} of each policy(obs) on ``env``.

    With ``repeats`` > 1 every value is the mean over that many performances whose actions get Gaussian ``noise``
    (clipped to [-1, 1]; seeds ``seed`` + r), and ``<key>_std`` their standard deviation: one performance is a
    poor measure of a policy, since an action noise of 0.01 alone moves the rated quality of one by +-8 (README).
    """
    from rlhf_training.piano_eval import random_policy, zero_policy
    from rlhf_training.piano_performances import perform, with_noise
    rater = rater or ScriptedPianoRater(noise=0.0)
    rows = {}
    for name, policy in {'zero action': zero_policy(env), 'random action': random_policy(env), **policies}.items():
        runs = []
        for r in range(repeats):
            perf, _ = perform(env, with_noise(policy, noise, seed + r), seed=seed + r, render=False)
            score = score_performance(perf['pressed'], perf['goal'], perf['sustain'], perf['goal_sustain'])
            runs.append({**score.as_dict(), **rater.features(perf), 'rating': rater.quality(perf),
                         'action_change': float(np.abs(np.diff(perf['action'], axis=0)).mean())})
        rows[name] = {k: float(np.mean([run[k] for run in runs])) for k in runs[0]}
        if repeats > 1:
            rows[name].update({f'{k}_std': float(np.std([run[k] for run in runs])) for k in runs[0]})
    return rows


def main(args=None):
    parser = argparse.ArgumentParser(description='CPL fine-tuning of a piano SAC policy from rated performances.')
    parser.add_argument('--checkpoint', required=True, help='piano SAC run directory or checkpoint file')
    parser.add_argument('--preferences', required=True, help='preference export over recorded performances')
    parser.add_argument('--out', required=True, help='output run directory')
    parser.add_argument('overrides', nargs='*', help='CPL config overrides key=value (config/cpl.yaml keys)')
    ns = parser.parse_args(args)
    from rlhf_training.trainer import print_summary
    try:
        summary = run_piano_cpl(ns.checkpoint, ns.preferences, ns.out, ns.overrides)
    except (FileNotFoundError, KeyError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    print_summary(summary)
    return 0


if __name__ == '__main__':
    sys.exit(main())
