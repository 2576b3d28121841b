# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Performances of a piano policy for people to rate: bags, clips with sound, the rating page's pairs file.

``record_performances`` plays the song with a SAC checkpoint's actor (and with extra action noise, for a
range of quality) and writes, per performance:

- ``<data_dir>/episodes/<id>/``: a rosbag2 (MCAP) with the topics the piano node publishes and takes
  (``/joint_states``, ``/hand_controller/commands``, ``/piano/keys``, ``/<camera>/color``), in the catalog;
- ``<data_dir>/episodes/<id>/performance.npz``: the policy's observation vectors and normalised actions per step,
  the key states and the song's goal (what CPL and the scripted rater read);
- ``<clip_dir>/<id>.mp4``: H.264 video of the camera at the control rate with the performance's sound (AAC),
  rendered without shadows or reflections;
- a pairs file (``rlhf_preference.pairs``) for the page's 1-100 rating mode: every clip appears in
  ``pairs_per_clip`` pairs with other performances of the song.

Console script: ``piano_performances --checkpoint runs/piano_sac --out perf/ [--noise 0 0.1 0.2 0.3] [--repeats 2]``.
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


def actor_policy(actor, noise=0.0, seed=0):
    """Obs vector -> deterministic action tanh(mean), plus Gaussian ``noise`` (clipped to [-1, 1])."""
    rng = np.random.default_rng(seed)

    @torch.no_grad()
    def policy(obs):
        action = actor.deterministic({'proprio': torch.as_tensor(obs, dtype=torch.float32)[None]})[0].numpy()
        if noise > 0:
            action = np.clip(action + noise * rng.standard_normal(action.shape), -1.0, 1.0)
        return action.astype(np.float32)
    return policy


def perform(env, policy, seed=0, render=True):
    """Play the song once; returns arrays per step (obs, action, command, q, qd, pressed, goal, ...) + frames."""
    obs, _ = env.reset(seed=seed)
    rows = {k: [] for k in ('obs', 'action', 'command', 'q', 'qd', 'pressed', 'goal', 'sustain', 'goal_sustain',
                            'key_positions', 'reward')}
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
        for key in ('pressed', 'goal', 'sustain', 'goal_sustain', 'key_positions'):
            rows[key].append(info[key])
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

    def keys(self, ns, song, frame, pressed, positions, sustain, goal, goal_sustain):
        msg = self.t['rlhf_msgs/msg/PianoKeys'](
            header=self._header(ns, 'piano'), pressed=np.asarray(pressed, bool), key_positions=np.asarray(positions),
            sustain=bool(sustain), sustain_position=float(sustain), goal=np.asarray(goal, bool),
            goal_sustain=bool(goal_sustain), song=song, frame=int(frame))
        return self.store.serialize_cdr(msg, 'rlhf_msgs/msg/PianoKeys')

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
              '/hand_controller/commands': 'std_msgs/msg/Float64MultiArray'}
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
                             perf['goal'][k], perf['goal_sustain'][k])
        writer.write('/piano/keys', keys, t_after)
        if frames:
            writer.write(f'/{camera}/color', messages.image(t_after, frames[k], f'{camera}_optical_frame'), t_after)
    end = T0_NS + len(perf['action']) * dt_ns
    writer.close('success', end_time_ns=end)
    np.savez_compressed(path / PERFORMANCE_FILE, **{k: v for k, v in perf.items()})
    Catalog(data_dir).add(EpisodeRecord(episode_id=episode_id, path=str(path), task=song, outcome='success',
                                        status='complete', duration_s=(end - T0_NS) / 1e9))
    return path


def write_clip(clip_dir, name, env, perf, frames):
    """MP4 (H.264 + AAC) of the frames at the control rate with the performance's sound."""
    from rlhf_recorder.video import write_mp4
    from rlhf_sim.piano_audio import key_press_audio
    rate = 22050
    audio = key_press_audio(perf['pressed'], perf['sustain'], env.task.control_timestep, sample_rate=rate)
    return write_mp4(np.asarray(frames), Path(clip_dir) / name, fps=1.0 / env.task.control_timestep, audio=audio,
                     sample_rate=rate)


def rating_pairs(segments, clips, pairs_per_clip=2, seed=0):
    """Pairs for the rating page: each clip beside ``pairs_per_clip`` others (shuffled rings), never itself."""
    from rlhf_preference.pairs import pair_id_of
    from rlhf_preference.store import PairRecord
    rng = np.random.default_rng(seed)
    n = len(segments)
    seen, pairs = set(), []
    for _ in range(pairs_per_clip if n > 2 else 1):
        order = rng.permutation(n)
        for i in range(n):
            a, b = int(order[i]), int(order[(i + 1) % n])
            if a == b or (min(a, b), max(a, b)) in seen:
                continue
            seen.add((min(a, b), max(a, b)))
            sa, sb = segments[a], segments[b]
            pairs.append(PairRecord(pair_id_of(sa, sb), sa.task, sa, sb, clips[a], clips[b]))
    return pairs


def record_performances(checkpoint, out_dir, noise_levels=(0.0, 0.1, 0.2, 0.3), repeats=2, render=True,
                        camera_size=(320, 240), progress=True, source=None):
    """Performances of ``checkpoint`` at each noise level (``repeats`` seeds each); returns their Segments."""
    from rlhf_preference.pairs import write_pairs_file
    from rlhf_preference.segments import Segment
    from rlhf_training.envs import make_piano_env
    actor, options = load_piano_actor(checkpoint)
    env = make_piano_env(**options)
    env.render_size = tuple(camera_size)
    out = Path(out_dir)
    data_dir, clip_dir = out / 'data', out / 'clips'
    messages = BagMessages()
    segments, clips = [], []
    jobs = [(noise, r) for noise in noise_levels for r in range(repeats)]
    source = source or Path(checkpoint).name
    try:
        for noise, r in tqdm(jobs, desc='performances', disable=not progress):
            episode_id = f'{source}_noise{noise:.2f}_{r}'
            path = Path(data_dir) / 'episodes' / episode_id
            clip = f'{episode_id}.mp4'
            if not (path / PERFORMANCE_FILE).is_file():
                perf, frames = perform(env, actor_policy(actor, noise, seed=1000 * r + int(100 * noise)), seed=r,
                                       render=render)
                write_performance(data_dir, episode_id, env, perf, frames, messages, source=source)
                if render:
                    write_clip(clip_dir, clip, env, perf, frames)
            duration = len(np.load(path / PERFORMANCE_FILE)['action']) * env.task.control_timestep
            segments.append(Segment(episode_id, str(path), 0.0, round(duration, 3), env.task.song, source))
            clips.append(clip)
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
    parser.add_argument('--repeats', type=int, default=2, help='performances per noise level')
    parser.add_argument('--no-clips', action='store_true', help='skip rendering (bags and arrays only)')
    ns = parser.parse_args(args)
    try:
        segments = record_performances(ns.checkpoint, ns.out, ns.noise, ns.repeats, render=not ns.no_clips)
    except (FileNotFoundError, KeyError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    print(f'wrote {len(segments)} performances to {ns.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
