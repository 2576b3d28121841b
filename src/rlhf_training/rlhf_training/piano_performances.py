# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Performances of a piano policy for people to rate: bags, clips with sound, the rating page's pairs file.

``record_performances`` plays the song with a SAC checkpoint's actor (and with extra action noise, or with its
actions smoothed, for a range of quality) and writes, per performance:

- ``<data_dir>/episodes/<id>/``: a rosbag2 (MCAP) with the topics the piano node publishes and takes
  (``/joint_states``, ``/hand_controller/commands``, ``/piano/keys``, ``/<camera>/color``), in the catalog;
- ``<data_dir>/episodes/<id>/performance.npz``: the policy's observation vectors and normalised actions per step,
  the key states and the song's goal (what CPL and the scripted rater read);
- ``<clip_dir>/<id>_<start>ms.mp4``: H.264 video of the camera at the control rate with the performance's sound (AAC),
  rendered without shadows or reflections;
- a pairs file (``rlhf_preference.pairs``) for the page's 1-100 rating mode: every clip appears in
  ``pairs_per_clip`` pairs with other performances of the song.

With ``window_s`` the clips (and the segments to rate) are windows of that length at the same times of every
performance, so that ratings compare how one passage was played (``ratings_to_preferences --pairs
same_window``) rather than whole performances, which differ mostly in how noisy they are.

Console script: ``piano_performances --checkpoint runs/piano_sac --out perf/ [--noise 0 0.1 0.2 0.3] [--repeats 2]
[--smoothing 0 0.5] [--window-s 2]``.
"""

import argparse
from pathlib import Path
import sys

import numpy as np
import torch
from tqdm import tqdm

PERFORMANCE_FILE = 'performance.npz'
T0_NS = 1_700_000_000 * 10**9


def load_piano_actor(checkpoint):
    """(actor, env options, observation flattener keys) of a piano SAC (or CPL) checkpoint."""
    from rlhf_training.checkpoint import load_model
    from rlhf_training.trainer import load_checkpoint
    state = load_checkpoint(checkpoint)
    actor = load_model(state, 'policy').eval()
    options = state['config'].get('env_options') or state['extra'].get('env_options') or {}
    return actor, dict(options)


def actor_policy(actor, noise=0.0, seed=0, smoothing=0.0):
    """Obs vector -> deterministic action tanh(mean), plus Gaussian ``noise`` (clipped to [-1, 1]).

    ``smoothing`` s in [0, 1): the action played is s * the previous one + (1 - s) * this one (calmer fingers,
    later keys): a systematic change of the actions, unlike noise. One policy per performance (it keeps the
    previous action).
    """
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f'smoothing: expected a number in [0, 1), got {smoothing!r}')

    @torch.no_grad()
    def deterministic(obs):
        return actor.deterministic({'proprio': torch.as_tensor(obs, dtype=torch.float32)[None]})[0].numpy()
    noisy = with_noise(deterministic, noise, seed)
    previous = []

    def policy(obs):
        action = noisy(obs)
        if smoothing > 0 and previous:
            action = smoothing * previous[0] + (1.0 - smoothing) * action
        previous[:] = [action]
        return action.astype(np.float32)
    return policy


def with_noise(policy, noise, seed):
    """``policy`` with Gaussian action noise (clipped to [-1, 1]); itself when ``noise`` is 0."""
    if noise == 0:
        return policy
    rng = np.random.default_rng(seed)

    def noisy(obs):
        action = np.asarray(policy(obs))
        return np.clip(action + noise * rng.standard_normal(action.shape), -1.0, 1.0).astype(action.dtype)
    return noisy


def perform(env, policy, seed=0, render=True):
    """Play the song once; returns arrays per step (obs, action, command, q, qd, pressed, goal, ...) + frames."""
    obs, _ = env.reset(seed=seed)
    rows = {k: [] for k in ('obs', 'action', 'command', 'q', 'qd', 'pressed', 'goal', 'sustain', 'goal_sustain',
                            'key_positions', 'sustain_position', 'reward', 'score_goal', 'score_fingers')}
    frames = []
    done = False
    while not done:
        action = policy(obs)
        rows['obs'].append(obs)
        obs, reward, terminated, truncated, info = env.step(action)
        q, qd = env.joint_state()
        for key, value in (('action', action), ('command', env.to_command(action)), ('q', q), ('qd', qd),
                           ('reward', reward)):
            rows[key].append(value)
        for key in ('pressed', 'goal', 'sustain', 'goal_sustain', 'key_positions', 'sustain_position'):
            rows[key].append(info[key])
        score = env.score()   # what the song asks for next: the piano node's /piano/score after this step
        rows['score_goal'].append(score['goal'])
        rows['score_fingers'].append(score['fingers'])
        if render:
            frames.append(env.render())
        done = terminated or truncated
    out = {k: np.asarray(v) for k, v in rows.items()}
    return out, frames


class BagMessages:
    """CDR messages of the piano node's topics, without ROS (rlhf_recorder's type store)."""

    def __init__(self):
        from rlhf_recorder.msgtypes import ensure_type, make_typestore
        self.store = make_typestore()
        ensure_type(self.store, 'rlhf_msgs/msg/PianoKeys')
        ensure_type(self.store, 'rlhf_msgs/msg/PianoScore')
        self.t = self.store.types

    def _header(self, ns, frame=''):
        return self.t['std_msgs/msg/Header'](
            stamp=self.t['builtin_interfaces/msg/Time'](sec=int(ns // 10**9), nanosec=int(ns % 10**9)), frame_id=frame)

    def joints(self, ns, names, q, qd):
        msg = self.t['sensor_msgs/msg/JointState'](header=self._header(ns), name=list(names),
                                                   position=np.asarray(q, np.float64),
                                                   velocity=np.asarray(qd, np.float64), effort=np.zeros(0))
        return self.store.serialize_cdr(msg, 'sensor_msgs/msg/JointState')

    def command(self, values):
        layout = self.t['std_msgs/msg/MultiArrayLayout'](dim=[], data_offset=0)
        msg = self.t['std_msgs/msg/Float64MultiArray'](layout=layout, data=np.asarray(values, np.float64))
        return self.store.serialize_cdr(msg, 'std_msgs/msg/Float64MultiArray')

    def keys(self, ns, song, frame, pressed, positions, sustain, sustain_position, goal, goal_sustain):
        msg = self.t['rlhf_msgs/msg/PianoKeys'](
            header=self._header(ns, 'piano'), pressed=np.asarray(pressed, bool), key_positions=np.asarray(positions),
            sustain=bool(sustain), sustain_position=float(sustain_position), goal=np.asarray(goal, bool),
            goal_sustain=bool(goal_sustain), song=song, frame=int(frame))
        return self.store.serialize_cdr(msg, 'rlhf_msgs/msg/PianoKeys')

    def score(self, ns, song, frame, lookahead, goal, fingers):
        msg = self.t['rlhf_msgs/msg/PianoScore'](
            header=self._header(ns, 'piano'), song=song, frame=int(frame), lookahead=int(lookahead),
            goal=np.asarray(goal, bool), fingers=np.asarray(fingers, bool))
        return self.store.serialize_cdr(msg, 'rlhf_msgs/msg/PianoScore')

    def image(self, ns, image, frame_id):
        h, w = image.shape[:2]
        msg = self.t['sensor_msgs/msg/Image'](header=self._header(ns, frame_id), height=h, width=w, encoding='rgb8',
                                              is_bigendian=0, step=w * 3, data=np.ascontiguousarray(image).reshape(-1))
        return self.store.serialize_cdr(msg, 'sensor_msgs/msg/Image')


def write_performance(data_dir, episode_id, env, perf, frames, messages, camera='piano_camera', source=''):
    """Bag + performance.npz + catalog entry of one performance; returns the episode folder."""
    from rlhf_recorder.bag import EpisodeBagWriter
    from rlhf_recorder.catalog import Catalog, EpisodeRecord
    path = Path(data_dir) / 'episodes' / episode_id
    song = env.task.song
    topics = {'/joint_states': 'sensor_msgs/msg/JointState', '/piano/keys': 'rlhf_msgs/msg/PianoKeys',
              '/piano/score': 'rlhf_msgs/msg/PianoScore', '/hand_controller/commands': 'std_msgs/msg/Float64MultiArray'}
    if frames:
        topics[f'/{camera}/color'] = 'sensor_msgs/msg/Image'
    dt_ns = int(round(env.task.control_timestep * 1e9))
    writer = EpisodeBagWriter(path, topics, {'task': song, 'start_time_ns': T0_NS, 'episode_id': episode_id,
                                             'source': source, 'robot': 'shadow_hand', 'is_sim': True})
    names = env.joint_names
    for k in range(len(perf['action'])):
        t = T0_NS + k * dt_ns
        writer.write('/hand_controller/commands', messages.command(perf['command'][k]), t + 1)
        t_after = t + dt_ns - 1   # the state the command produced, one control step later
        writer.write('/joint_states', messages.joints(t_after, names, perf['q'][k], perf['qd'][k]), t_after)
        keys = messages.keys(t_after, song, k + 1, perf['pressed'][k], perf['key_positions'][k], perf['sustain'][k],
                             perf['sustain_position'][k], perf['goal'][k], perf['goal_sustain'][k])
        writer.write('/piano/keys', keys, t_after)
        score = messages.score(t_after, song, k + 1, env.task.n_steps_lookahead, perf['score_goal'][k],
                               perf['score_fingers'][k])
        writer.write('/piano/score', score, t_after)
        if frames:
            writer.write(f'/{camera}/color', messages.image(t_after, frames[k], f'{camera}_optical_frame'), t_after)
    end = T0_NS + len(perf['action']) * dt_ns
    writer.close('success', end_time_ns=end)
    np.savez_compressed(path / PERFORMANCE_FILE, **{k: v for k, v in perf.items()})
    Catalog(data_dir).add(EpisodeRecord(episode_id=episode_id, path=str(path), task=song, outcome='success',
                                        status='complete', duration_s=(end - T0_NS) / 1e9))
    return path


def segment_steps(segment, perf) -> slice:
    """The control steps of ``segment`` (a time range of the performance) in a performance's arrays."""
    n = len(perf['action'])
    # files written before the timestep was stored hold whole performances only: end_s / n is their timestep
    dt = float(perf['control_timestep']) if 'control_timestep' in perf else segment.end_s / n
    start, stop = int(round(segment.start_s / dt)), min(n, int(round(segment.end_s / dt)))
    if not 0 <= start < stop:
        raise ValueError(f'segment {segment.segment_id}: {segment.start_s}-{segment.end_s} s is outside the '
                         f'performance ({n} steps of {dt} s)')
    return slice(start, stop)


def load_performance(segment) -> dict:
    """The arrays of ``performance.npz`` over the segment's time range (what a rater saw in its clip)."""
    path = Path(segment.episode_path) / PERFORMANCE_FILE
    if not path.is_file():
        raise FileNotFoundError(f'segment {segment.segment_id}: no {PERFORMANCE_FILE} in {segment.episode_path} '
                                f'(not a recorded piano performance)')
    with np.load(path) as data:
        perf = {k: data[k] for k in data.files}
    steps = segment_steps(segment, perf)
    return {k: v[steps] if v.ndim and len(v) == len(perf['action']) else v for k, v in perf.items()}


def clip_name(segment) -> str:
    """The clip file of a segment: its performance and its start (windows of one performance never overlap)."""
    return f'{segment.episode_id}_{round(segment.start_s * 1000):06d}ms.mp4'


def windows(n_steps, dt, window_s):
    """[(start_s, end_s)] of the whole windows of ``window_s`` in a performance of ``n_steps``; None: the whole."""
    if window_s is None:
        return [(0.0, round(n_steps * dt, 3))]
    size = int(round(window_s / dt))
    if size < 1:
        raise ValueError(f'window_s: expected at least one control step ({dt} s), got {window_s!r}')
    return [(round(k * size * dt, 3), round((k + 1) * size * dt, 3)) for k in range(n_steps // size)]


def write_clip(clip_dir, name, env, perf, frames):
    """MP4 (H.264 + AAC) of the frames at the control rate with the performance's sound."""
    from rlhf_recorder.video import write_mp4
    from rlhf_sim.piano_audio import key_press_audio
    rate = 22050
    audio = key_press_audio(perf['pressed'], perf['sustain'], env.task.control_timestep, sample_rate=rate)
    return write_mp4(np.asarray(frames), Path(clip_dir) / name, fps=1.0 / env.task.control_timestep, audio=audio,
                     sample_rate=rate)


def rating_pairs(segments, clips, pairs_per_clip=2, seed=0):
    """Pairs for the rating page: each clip beside ``pairs_per_clip`` others of its time range, never itself.

    Shuffled rings within each time range (one range for whole performances).
    """
    from collections import defaultdict

    from rlhf_preference.pairs import pair_id_of
    from rlhf_preference.store import PairRecord
    rng = np.random.default_rng(seed)
    groups = defaultdict(list)
    for i, segment in enumerate(segments):
        groups[(segment.start_s, segment.end_s)].append(i)
    seen, pairs = set(), []
    for members in groups.values():
        n = len(members)
        for _ in range(pairs_per_clip if n > 2 else 1):
            order = [members[j] for j in rng.permutation(n)]
            for i in range(n):
                a, b = order[i], order[(i + 1) % n]
                if a == b or (min(a, b), max(a, b)) in seen:
                    continue
                seen.add((min(a, b), max(a, b)))
                sa, sb = segments[a], segments[b]
                pairs.append(PairRecord(pair_id_of(sa, sb), sa.task, sa, sb, clips[a], clips[b]))
    return pairs


def record_performances(checkpoint, out_dir, noise_levels=(0.0, 0.1, 0.2, 0.3), repeats=2, render=True,
                        camera_size=(320, 240), progress=True, source=None, smoothing_levels=(0.0,), window_s=None):
    """Performances of ``checkpoint`` at each noise and smoothing level (``repeats`` seeds each).

    Returns the Segments to rate: whole performances, or their windows of ``window_s`` seconds.
    """
    from rlhf_preference.pairs import write_pairs_file
    from rlhf_preference.segments import Segment
    from rlhf_training.envs import make_piano_env
    actor, options = load_piano_actor(checkpoint)
    env = make_piano_env(**options)
    env.render_size = tuple(camera_size)
    dt = env.task.control_timestep
    out = Path(out_dir)
    data_dir, clip_dir = out / 'data', out / 'clips'
    messages = BagMessages()
    segments, clips = [], []
    jobs = [(noise, smooth, r) for noise in noise_levels for smooth in smoothing_levels for r in range(repeats)]
    source = source or Path(checkpoint).name
    try:
        for noise, smooth, r in tqdm(jobs, desc='performances', disable=not progress):
            episode_id = f'{source}_noise{noise:.2f}' + (f'_smooth{smooth:.2f}' if smooth else '') + f'_{r}'
            path = Path(data_dir) / 'episodes' / episode_id
            perf = frames = None
            if not (path / PERFORMANCE_FILE).is_file():
                policy = actor_policy(actor, noise, seed=1000 * r + int(100 * noise), smoothing=smooth)
                perf, frames = perform(env, policy, seed=r, render=render)
                perf['control_timestep'] = np.float64(dt)
                write_performance(data_dir, episode_id, env, perf, frames, messages, source=source)
            n_steps = len(np.load(path / PERFORMANCE_FILE)['action'])
            for start, end in windows(n_steps, dt, window_s):
                segments.append(Segment(episode_id, str(path), start, end, env.task.song, source))
                clips.append(clip_name(segments[-1]))
                if render and frames is not None:   # clips of a performance recorded now
                    steps = segment_steps(segments[-1], perf)
                    write_clip(clip_dir, clips[-1], env, {k: perf[k][steps] for k in ('pressed', 'sustain')},
                               frames[steps])
    finally:
        env.close()
    if render:
        write_pairs_file(out / 'pairs.json', rating_pairs(segments, clips), clip_dir, strategy='rating_ring',
                         segment_length_s=segments[0].duration_s,
                         instruction='Rate how well the hand plays the song, 1 (bad) to 100 (perfect).')
    return segments


def main(args=None):
    parser = argparse.ArgumentParser(description='Record rated-clip performances of a piano SAC checkpoint.')
    parser.add_argument('--checkpoint', required=True, help='piano SAC run directory or checkpoint file')
    parser.add_argument('--out', required=True, help='folder for data/ (bags), clips/ and pairs.json')
    parser.add_argument('--noise', type=float, nargs='+', default=[0.0, 0.1, 0.2, 0.3],
                        help='extra Gaussian action noise per performance (spreads the quality)')
    parser.add_argument('--repeats', type=int, default=2, help='performances per noise and smoothing level')
    parser.add_argument('--smoothing', type=float, nargs='+', default=[0.0],
                        help='action smoothing per performance, in [0, 1) (a systematic change of the play)')
    parser.add_argument('--window-s', type=float, default=None,
                        help='rate windows of this length at the same times of every performance (default: whole)')
    parser.add_argument('--no-clips', action='store_true', help='skip rendering (bags and arrays only)')
    ns = parser.parse_args(args)
    try:
        segments = record_performances(ns.checkpoint, ns.out, ns.noise, ns.repeats, render=not ns.no_clips,
                                       smoothing_levels=ns.smoothing, window_s=ns.window_s)
    except (FileNotFoundError, KeyError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    print(f'wrote {len(segments)} performances to {ns.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
