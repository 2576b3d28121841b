# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Evaluation metrics and the report, for every evaluation: through the graph and offline (pure; no ROS).

Per episode: success, completion time (seconds from enabling the policy to the first task success), the final
task progress, smoothness as the mean squared jerk of the commanded joints' measured positions (third divided
differences of samples at least one control period apart) and the mean squared change of the published command
per tick. ``rlhf_policy.evaluator_node`` (through the graph) and ``rlhf_policy.sim_rollout`` (offline) both make
``EpisodeResult`` rows with these functions, so their reports compare.
"""

from dataclasses import asdict, dataclass
import json
import math
from pathlib import Path

import numpy as np


@dataclass
class EpisodeResult:
    index: int
    seed: int
    success: bool
    completion_time_s: float  # NaN when not successful
    duration_s: float
    final_progress: float
    mean_squared_jerk: float  # (rad/s^3)^2, the commanded joints
    mean_action_change: float  # mean over ticks of ||command_t - command_{t-1}||^2
    commands: int
    episode_id: str = ''      # the recorded episode (through the graph, with record)
    video: str = ''           # an MP4 of the episode (offline, when asked for)


def mean_squared_jerk(times_s, positions, rate_hz=30.0):
    """Mean over time and joints of the squared third derivative of positions (T, J) sampled at times_s.

    Samples are thinned to at least one control period apart, then jerk = 6 * the third divided
    difference (exact for a cubic, whatever the spacing of the arrivals).
    """
    t = np.asarray(times_s, dtype=np.float64)
    q = np.asarray(positions, dtype=np.float64)
    if t.shape[0] == 0:
        return float('nan')
    keep = [0]
    for i in range(1, t.shape[0]):
        if t[i] - t[keep[-1]] >= 1.0 / rate_hz - 1e-9:
            keep.append(i)
    t, q = t[keep], q[keep]
    if t.shape[0] < 4:
        return float('nan')
    d = q
    for order in (1, 2, 3):  # divided differences of increasing order
        d = (d[1:] - d[:-1]) / (t[order:] - t[:-order])[:, None]
    return float(np.mean((6.0 * d) ** 2))


def mean_action_change(commands):
    """Mean over consecutive commands (T, D) of the squared norm of their difference."""
    c = np.asarray(commands, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] < 2:
        return float('nan')
    return float(np.mean(np.sum(np.diff(c, axis=0) ** 2, axis=1)))


def summarise(results):
    """Aggregate of a list of EpisodeResult."""
    n = len(results)
    done = [r.completion_time_s for r in results if r.success]

    def nanmean(values):
        vals = [v for v in values if v is not None and math.isfinite(v)]
        return float(np.mean(vals)) if vals else float('nan')

    return {
        'episodes': n,
        'successes': sum(r.success for r in results),
        'success_rate': (sum(r.success for r in results) / n) if n else float('nan'),
        'mean_completion_time_s': nanmean(done),
        'mean_final_progress': nanmean([r.final_progress for r in results]),
        'mean_squared_jerk': nanmean([r.mean_squared_jerk for r in results]),
        'mean_action_change': nanmean([r.mean_action_change for r in results]),
        'seeds': [r.seed for r in results],
    }


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def report_dict(results, info):
    """{'info', 'summary', 'episodes'} of a list of EpisodeResult, JSON-ready (NaN -> None)."""
    return _json_safe({'info': info, 'summary': summarise(results), 'episodes': [asdict(r) for r in results]})


def write_report(path, results, info):
    """Write ``report_dict`` as JSON at ``path`` (atomically); returns the dict."""
    report = report_dict(results, info)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + '.tmp')
    tmp.write_text(json.dumps(report, indent=2))
    tmp.replace(path)
    return report


def format_table(report):
    """A plain-text table of a report written by ``write_report``."""
    def fmt(v, spec):
        return '-' if v is None else format(v, spec)

    lines = [f'{"episode":>7} {"seed":>6} {"success":>7} {"time_s":>7} {"progress":>8} {"jerk":>10} '
             f'{"action_chg":>10}']
    for e in report['episodes']:
        lines.append(f'{e["index"]:>7} {e["seed"]:>6} {str(e["success"]):>7} {fmt(e["completion_time_s"], ".2f"):>7} '
                     f'{fmt(e["final_progress"], ".2f"):>8} {fmt(e["mean_squared_jerk"], ".3g"):>10} '
                     f'{fmt(e["mean_action_change"], ".3g"):>10}')
    s = report['summary']
    lines.append(f'success rate {fmt(s["success_rate"], ".2f")} ({s["successes"]}/{s["episodes"]}), '
                 f'mean completion {fmt(s["mean_completion_time_s"], ".2f")} s, '
                 f'mean progress {fmt(s["mean_final_progress"], ".2f")}, '
                 f'jerk {fmt(s["mean_squared_jerk"], ".3g")}, action change {fmt(s["mean_action_change"], ".3g")}')
    return '\n'.join(lines)
