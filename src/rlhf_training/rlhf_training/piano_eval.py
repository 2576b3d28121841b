# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Key-press precision, recall and F1 of a piano performance, and the baselines they are printed beside.

A performance is a sequence of frames (one per control step): the keys down (88 bools) and the keys the song
wants down. Per frame, precision = |pressed & wanted| / |pressed|, recall = |pressed & wanted| / |wanted|,
F1 their harmonic mean; a frame with nothing to divide by scores 1 (sklearn's ``zero_division=1``, as
RoboPianist's ``MidiEvaluationWrapper`` does), so a silent frame played silently is perfect and a silent
policy scores above 0 on any song with rests. Episode scores are the means over frames. The sustain pedal is
scored the same way as a one-key piano.

``evaluate_piano(policy, env, episodes)`` plays whole songs; ``baselines(env)`` gives the zero-action and
uniformly random policies' scores, which every reported F1 is printed beside; ``score_bag(path)`` scores a
recorded episode from its ``/piano/keys`` messages (rlhf_msgs/PianoKeys: the keys down and the song's goal).
``control_loop_policy`` plays an exported policy through the policy node's own control loop (ONNX Runtime, start
ramp, limiter), fed with what the piano node publishes, so a score can be read the way the robot would play.
"""

from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class PerformanceScore:
    precision: float
    recall: float
    f1: float
    sustain_precision: float
    sustain_recall: float
    sustain_f1: float
    wrong_presses: float    # keys down that the song does not want, summed over frames, per frame
    frames: int

    def as_dict(self, prefix=''):
        return {f'{prefix}{k}': v for k, v in asdict(self).items()}


def frame_scores(pressed, wanted):
    """Per-frame (precision, recall, f1) of (T, K) boolean arrays, with zero_division = 1."""
    p = np.asarray(pressed, dtype=bool)
    w = np.asarray(wanted, dtype=bool)
    if p.shape != w.shape or p.ndim != 2:
        raise ValueError(f'pressed and wanted: expected two (frames, keys) arrays of one shape, got '
                         f'{p.shape} and {w.shape}')
    hits = (p & w).sum(1).astype(float)
    n_p, n_w = p.sum(1).astype(float), w.sum(1).astype(float)
    precision = np.where(n_p > 0, hits / np.maximum(n_p, 1), 1.0)
    recall = np.where(n_w > 0, hits / np.maximum(n_w, 1), 1.0)
    # F1 = 2 tp / (2 tp + fp + fn); 1 when the frame has neither presses nor wanted keys
    f1 = np.where(n_p + n_w > 0, 2.0 * hits / np.maximum(n_p + n_w, 1), 1.0)
    return precision, recall, f1


def score_performance(pressed, wanted, sustain=None, wanted_sustain=None) -> PerformanceScore:
    """Episode precision / recall / F1 (means over frames) of keys and, when given, of the sustain pedal."""
    precision, recall, f1 = frame_scores(pressed, wanted)
    if sustain is None:
        sp = sr = sf = float('nan')
    else:
        s = np.asarray(sustain, dtype=bool).reshape(-1, 1)
        ws = np.asarray(wanted_sustain, dtype=bool).reshape(-1, 1)
        sp, sr, sf = (float(np.mean(x)) for x in frame_scores(s, ws))
    wrong = (np.asarray(pressed, dtype=bool) & ~np.asarray(wanted, dtype=bool)).sum(1)
    return PerformanceScore(float(precision.mean()), float(recall.mean()), float(f1.mean()), sp, sr, sf,
                            float(wrong.mean()), int(len(f1)))


def score_bag(path, topic='/piano/keys') -> PerformanceScore:
    """Score a recorded performance (a rosbag2 episode folder) from its PianoKeys messages, one per frame."""
    from rlhf_recorder.reader import read_messages
    frames = [msg for _, _, msg in read_messages(path, [topic])]
    if not frames:
        raise ValueError(f'{path}: no {topic} messages (rlhf_msgs/PianoKeys) to score')
    return score_performance([np.asarray(m.pressed, bool) for m in frames], [np.asarray(m.goal, bool) for m in frames],
                             [m.sustain for m in frames], [m.goal_sustain for m in frames])


def play(env, policy, seed=0):
    """One performance of ``env``'s song by ``policy(obs) -> action``: (score, frames dict, return)."""
    obs, _ = env.reset(seed=seed)
    frames = {'pressed': [], 'goal': [], 'sustain': [], 'goal_sustain': [], 'action': []}
    total, done = 0.0, False
    while not done:
        action = np.asarray(policy(obs), dtype=np.float32)
        obs, reward, terminated, truncated, info = env.step(action)
        total += float(reward)
        done = terminated or truncated
        for key in ('pressed', 'goal', 'sustain', 'goal_sustain'):
            frames[key].append(info[key])
        frames['action'].append(action)
    frames = {k: np.asarray(v) for k, v in frames.items()}
    score = score_performance(frames['pressed'], frames['goal'], frames['sustain'], frames['goal_sustain'])
    return score, frames, total


def evaluate_piano(policy, env, episodes=1, seed=10_000) -> dict:
    """Mean scores of ``episodes`` performances, plus the mean return and the mean action change per step."""
    rows = []
    for ep in range(episodes):
        score, frames, total = play(env, policy, seed=seed + ep)
        motion = float(np.abs(np.diff(frames['action'], axis=0)).mean()) if len(frames['action']) > 1 else 0.0
        rows.append({**score.as_dict(), 'return': total, 'action_change': motion})
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def zero_policy(env):
    """The policy that sends the middle of every actuator's range (action 0)."""
    dim = env.action_space.shape[0]
    return lambda obs: np.zeros(dim, dtype=np.float32)


def random_policy(env, seed=0):
    rng = np.random.default_rng(seed)
    dim = env.action_space.shape[0]
    return lambda obs: rng.uniform(-1.0, 1.0, size=dim).astype(np.float32)


def baselines(env, episodes=1) -> dict:
    """``{'zero': scores, 'random': scores}`` on ``env``: what an F1 must be read against."""
    return {'zero': evaluate_piano(zero_policy(env), env, episodes),
            'random': evaluate_piano(random_policy(env), env, episodes)}


def control_loop_policy(contract, runner, env, **loop_settings):
    """``policy(obs) -> action`` for ``play``: ``rlhf_policy.control_loop.PolicyLoop`` around ``runner``.

    Every step hands the loop what the piano node publishes after it (``/joint_states``, ``/piano/keys``,
    ``/piano/score``, stamped with simulated time) and plays the command it answers; before its first command the
    piano holds the last one, the middle of every range at the start, as the node does. One policy per performance.
    """
    from rlhf_policy.control_loop import PolicyLoop
    loop = PolicyLoop(contract, runner, **loop_settings)
    piano = env.unwrapped
    dt = 1.0 / contract.rate_hz
    state = {'step': 0, 'command': piano.to_command(np.zeros(piano.action_space.shape))}

    def policy(obs):
        now, a = state['step'] * dt, loop.assembler
        a.on_joint_state(*piano.joint_state_with_coupled(), now)
        keys, score = piano.key_state(first=state['step'] == 0), piano.score()
        a.on_piano_keys(keys['key_positions'], keys['sustain_position'], now)
        a.on_piano_score(score['goal'], score['fingers'], now)
        tick = loop.tick(now)
        if tick.command is not None:
            state['command'] = tick.command.copy()
        state['step'] += 1
        return piano.from_command(state['command']).astype(np.float32)
    return policy


def onnx_runner(contract_path):
    """(contract, runner) of an exported policy: ``runner(inputs) -> action`` on ONNX Runtime's CPU provider."""
    from rlhf_policy.contract import PolicyContract
    from rlhf_policy.inference import OnnxPolicy
    contract = PolicyContract.load(contract_path)
    return contract, OnnxPolicy(contract.model_path(contract_path), contract, provider='cpu').run
