# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The robot pianist's loop on a tiny budget: every stage runs, the report holds every policy, a rerun resumes."""

import json
from pathlib import Path
import sys

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'scripts'))
from piano_loop import main  # noqa: E402

TINY = ['song=CMajorScaleOneHand', 'pretrain_steps=30', 'noise_levels=[0.0, 0.5]', 'smoothing_levels=[0.0]',
        'repeats=1', 'window_s=2.0', 'clip_size=[64, 48]', 'annotators=1',
        'cpl={steps: 2, batch_size: 2}', 'cpl_seeds=[0, 1]', 'eval_repeats=2']


def test_the_loop_fine_tunes_with_sft_cpl_and_shuffled_labels_and_resumes(tmp_path, capsys):
    out = tmp_path / 'loop'
    args = [item for setting in [f'out_dir={out}', *TINY] for item in ('--set', setting)]
    assert main(args) == 0
    report = json.loads((out / 'report.json').read_text())
    methods = ('sft', 'cpl', 'cpl shuffled')
    assert list(report['evaluation']) == ['zero action', 'random action', 'pretrained',
                                          *(f'{m} seed {s}' for m in methods for s in (0, 1)),
                                          *(f'{m} mean' for m in methods)]
    rows = report['evaluation']
    assert rows['cpl mean']['f1'] == (rows['cpl seed 0']['f1'] + rows['cpl seed 1']['f1']) / 2
    # two performances per policy, with action noise: their mean and spread (the deterministic song varies)
    assert all(0.0 <= r['f1'] <= 1.0 and r['rating_std'] >= 0.0 for r in rows.values())
    # 151 steps of 0.05 s: three 2 s windows per performance, paired within each passage
    assert report['pairs'] == 3
    prefs = json.loads((out / 'preferences.json').read_text())['records']
    shuffled = json.loads((out / 'preferences_shuffled.json').read_text())['records']
    assert [(r['segment_a'], r['segment_b']) for r in shuffled] == [(r['segment_a'], r['segment_b']) for r in prefs]
    assert all(s['label'] in (p['label'], 1.0 - p['label']) for s, p in zip(shuffled, prefs))
    assert (out / 'cpl_shuffled' / 'seed1' / 'checkpoints' / 'latest.pt').is_file()
    assert '- cpl shuffled (mean of 2 seeds) against the pretrained policy' in (out / 'report.md').read_text()
    # every policy is an ONNX export that the policy node played on the piano node
    assert all(0.0 <= rows[name]['graph_f1'] <= 1.0 for name in rows if name not in ('zero action', 'random action'))
    capsys.readouterr()
    assert main(args) == 0          # every stage finished: nothing is redone
    assert capsys.readouterr().out.count('done before') == 7
