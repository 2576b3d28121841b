# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""The pipeline's report: report.md with plots, from the artifacts the stages left under the run folder.

Reads eval/eval_{bc,cpl}.json (rlhf_policy evaluate), eval/*_ticks.csv (policy node timing),
runs/*/metrics.csv (rlhf_training logs) and prefs/preferences.json (rlhf_preference export).
"""

import csv
import json
from pathlib import Path

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def read_metrics(path):
    """metrics.csv (step, metric, value rows) -> {metric: (steps, values)}."""
    series = {}
    if not Path(path).is_file():
        return series
    with open(path, newline='') as f:
        for row in list(csv.reader(f))[1:]:
            try:
                step, name, value = int(row[0]), row[1], float(row[2])
            except (ValueError, IndexError):
                continue
            series.setdefault(name, ([], []))
            series[name][0].append(step)
            series[name][1].append(value)
    return series


def load_json(path):
    return json.loads(Path(path).read_text()) if Path(path).is_file() else None


def plot_success(evals, out):
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    names = [name for name, report in evals.items() if report]
    rates = [evals[n]['summary']['success_rate'] or 0.0 for n in names]
    ax.bar(names, rates, color=['#8a9bb0', '#2f7d5b'][:len(names)])
    for i, rate in enumerate(rates):
        ax.text(i, rate + 0.02, f'{rate:.0%}', ha='center')
    ax.set_ylim(0, 1.1)
    ax.set_ylabel('success rate (through the graph)')
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_curves(run_dir, out):
    panels = [('bc', 'train/loss', 'BC loss'), ('reward', 'train/loss', 'reward model loss (BT)'),
              ('cpl', 'train/loss', 'CPL loss')]
    fig, axes = plt.subplots(1, len(panels), figsize=(11, 3))
    for ax, (run, metric, title) in zip(axes, panels):
        series = read_metrics(Path(run_dir) / run / 'metrics.csv')
        key = metric if metric in series else next((k for k in series if k.endswith('loss')), None)
        if key:
            ax.plot(*series[key], lw=1)
        ax.set_title(title)
        ax.set_xlabel('step')
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_latency(ticks_csv, out):
    rows = np.genfromtxt(ticks_csv, delimiter=',', names=True)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    latency = rows['latency_ms'][np.isfinite(rows['latency_ms'])]  # NaN: ticks that published nothing (e-stop)
    ax.hist(latency, bins=60, color='#2f5d7d')
    ax.set_xlabel('observation-to-command latency (ms)')
    ax.set_ylabel('ticks')
    ax.set_yscale('log')
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    periods = np.diff(rows['tick_start_s'])
    return {'ticks': len(rows), 'rate_hz': 1.0 / float(np.mean(periods)) if len(periods) else float('nan'),
            'latency_p50_ms': float(np.percentile(latency, 50)),
            'latency_p99_ms': float(np.percentile(latency, 99)),
            'inference_p99_ms': float(np.nanpercentile(rows['inference_ms'], 99))}


def fmt(value, spec='.2f'):
    return '-' if value is None else format(value, spec)


def write_report(out_dir, settings, target_dir):
    """report.md and its plots in ``target_dir``, from the run folder ``out_dir``; returns the report's path."""
    out, target = Path(out_dir), Path(target_dir)
    target.mkdir(parents=True, exist_ok=True)
    evals = {'pretrained (BC)': load_json(out / 'eval' / 'eval_bc.json'),
             'after preferences (CPL)': load_json(out / 'eval' / 'eval_cpl.json')}
    plot_success(evals, target / 'success.png')
    plot_curves(out / 'runs', target / 'curves.png')
    ticks = out / 'eval' / 'eval_cpl_ticks.csv'
    timing = plot_latency(ticks, target / 'latency.png') if ticks.is_file() else None
    prefs = load_json(out / 'prefs' / 'preferences.json')
    reward = read_metrics(out / 'runs' / 'reward' / 'metrics.csv')
    reward_acc = next((v[-1] for k, (_, v) in reward.items() if 'accuracy' in k and 'val' in k), None)

    lines = ['# Pipeline report', '',
             f'Task `{settings["task"]}`; {settings["demo_scenes"]} scenes, each attempted '
             f'{settings["demo_attempts"]} times by a careful and by a sloppy scripted operator (aim offset '
             f'{settings["sloppy_aim_offset"]} m); evaluation through the graph (simulator + ONNX policy node over '
             f'DDS) on {settings["eval_episodes"]} episodes, seeds from {settings["eval_seed"]}, same seeds for both.',
             '',
             '| policy | success rate | mean completion (s) | mean final progress | mean squared jerk | '
             'mean action change |', '|---|---|---|---|---|---|']
    for name, report in evals.items():
        if report:
            s = report['summary']
            lines.append(f'| {name} | {fmt(s["success_rate"])} ({s["successes"]}/{s["episodes"]}) | '
                         f'{fmt(s["mean_completion_time_s"])} | {fmt(s["mean_final_progress"])} | '
                         f'{fmt(s["mean_squared_jerk"], ".3g")} | {fmt(s["mean_action_change"], ".3g")} |')
    lines += ['', '![success rate](success.png)', '']
    if prefs is not None:
        records = prefs.get('records', [])
        lines.append(f'Preferences: {len(records)} pairs exported'
                     + (f'; reward ensemble held-out accuracy {reward_acc:.3f}' if reward_acc is not None else '')
                     + '.')
    lines += ['', '## Learning curves', '', '![learning curves](curves.png)', '']
    if timing:
        lines += ['## Control loop (policy after preferences)', '',
                  f'{timing["ticks"]} ticks at {timing["rate_hz"]:.2f} Hz; observation-to-command latency p50 '
                  f'{timing["latency_p50_ms"]:.2f} ms, p99 {timing["latency_p99_ms"]:.2f} ms; inference p99 '
                  f'{timing["inference_p99_ms"]:.2f} ms.', '', '![latency](latency.png)', '']
    path = target / 'report.md'
    path.write_text('\n'.join(lines) + '\n')
    return path
