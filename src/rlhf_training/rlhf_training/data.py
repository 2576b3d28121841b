# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Datasets from recorded episodes (rlhf_recorder) and preference exports (rlhf_preference).

Observations go through `rlhf_policy.preprocess.preprocess_batch` with the run's `PolicyContract`, whose
proprioception statistics are computed once here from the training episodes and then saved with the model.
Actions are `contract.action.from_commands(recorded commands, measured pose at that frame)`, the normalised action
the exported policy will output. State features (config ``state_features``, the contract's
``observation.state_features``) come from the episode: ``object_positions`` / ``target_positions`` (the recorded
task state) and ``previous_commands`` (the latest command strictly before each frame; before the first command the
measured pose, ``ActionSpec.measured_command``, as the policy node does). Every problem with the inputs (no
episodes, a preference file naming missing episodes, no frames) is a `DataError` raised before training starts.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rlhf_training.config import TrainConfig
from rlhf_training.datasets import SegmentPairDataset, TransitionDataset


class DataError(ValueError):
    """Training data that cannot be used; the message names the file / episode / field."""


# ---------------------------------------------------------------------------------------- episodes
def resolve_episodes(config: TrainConfig) -> list[Path]:
    """Bag directories of the run: config.episodes (ids under <data_dir>/episodes, or paths), else the catalog.

    The catalog selection keeps finished recordings ('complete') filtered by config.task / config.outcome.
    """
    data_dir = Path(config.data_dir)
    paths = []
    if config.episodes:
        for item in config.episodes:
            path = Path(item)
            if not (path / 'metadata.yaml').is_file():
                path = data_dir / 'episodes' / item
            if not (path / 'metadata.yaml').is_file():
                raise DataError(f'episodes: {item!r} is neither a bag directory nor an episode id under '
                                f'{data_dir / "episodes"} (no metadata.yaml)')
            paths.append(path)
    else:
        if not (data_dir / 'catalog.sqlite').is_file():
            raise DataError(f'data_dir: {data_dir} has no catalog.sqlite; record episodes with rlhf_recorder '
                            f'or list bag directories under episodes:')
        from rlhf_recorder.catalog import Catalog
        records = Catalog(data_dir).list(task=config.task or None, outcome=config.outcome or None)
        for record in records:
            if record.status != 'complete':
                continue
            path = Path(record.path)
            paths.append(path if path.is_absolute() else data_dir / path)
    if not paths:
        raise DataError(f'empty dataset: no episodes selected (data_dir={str(data_dir)!r}, task={config.task!r}, '
                        f'outcome={config.outcome!r}, episodes={list(config.episodes)})')
    return paths


def action_spec(config: TrainConfig):
    """The action space of a run: the Panda's arm joint deltas (``max_delta_rad`` per tick) and gripper."""
    from rlhf_policy.actions import ActionSpec
    return ActionSpec.for_panda(config.max_delta_rad)


def read_episodes(paths: Sequence[Path], config: TrainConfig, progress: bool = True, action=None) -> list:
    """rlhf_recorder.reader.read_episode for each path at config.rate_hz with the configured cameras.

    The commands read are those of ``action`` (an ``ActionSpec``; default: the run's, ``action_spec(config)``).
    """
    from tqdm import tqdm

    from rlhf_recorder.reader import read_episode
    commands = (action or action_spec(config)).command_topics
    episodes = []
    for path in tqdm(list(paths), desc='reading episodes', unit='episode', disable=not progress):
        episode = read_episode(path, rate_hz=config.rate_hz, cameras=list(config.cameras),
                               images=bool(config.cameras), commands=commands)
        if len(episode.times) == 0:
            raise DataError(f'{path}: episode has no frames at {config.rate_hz} Hz (cameras {list(config.cameras)})')
        episode.metadata.setdefault('path', str(path))
        episodes.append(episode)
    return episodes


def make_contract(config: TrainConfig, episodes: Sequence, metadata: dict | None = None):
    """PolicyContract of the run: cameras and image size from config, proprio statistics from `episodes`."""
    from rlhf_policy.contract import STATE_FEATURES, CameraSpec, ObservationSpec, PolicyContract
    from rlhf_policy.preprocess import proprio_statistics, with_derived_state
    if not episodes:
        raise DataError('empty dataset: no episodes to compute normalisation statistics from')
    if config.observation_history != 1 and config.rate_hz != config.control_hz:
        raise DataError(f'observation_history={config.observation_history}: history frames are control ticks, so '
                        f'rate_hz ({config.rate_hz}) must equal control_hz ({config.control_hz})')
    joint_names = list(episodes[0].joint_names)
    for ep in episodes[1:]:
        if list(ep.joint_names) != joint_names:
            raise DataError(f'{ep.metadata.get("path", "episode")}: joint_names {ep.joint_names} differ from '
                            f'the first episode\'s {joint_names}')
    features = list(config.state_features)
    unknown = [n for n in features if n not in STATE_FEATURES]
    if unknown:
        raise DataError(f'state_features: {unknown} are not state features (expected names from '
                        f'{list(STATE_FEATURES)})')
    action = action_spec(config)
    states = [episode_state(features, ep, np.arange(len(ep.times)), action) for ep in episodes]
    positions = np.concatenate([ep.joint_positions for ep in episodes])
    try:
        state = with_derived_state(ObservationSpec([], joint_names, state_features=features,
                                                   command_dim=action.command_dim), positions,
                                   {k: np.concatenate([s[k] for s in states]) for k in states[0]})
    except ValueError as err:
        raise DataError(f'state_features: {err}') from None
    mean, std = proprio_statistics(positions, np.concatenate([ep.joint_velocities for ep in episodes]),
                                   state_features=features, state=state)
    cameras = [CameraSpec(name, config.image_width, config.image_height, config.use_depth, config.max_depth_m)
               for name in config.cameras]
    try:
        observation = ObservationSpec(cameras, joint_names, proprio_mean=mean, proprio_std=std,
                                      state_features=features, command_dim=action.command_dim,
                                      history=config.observation_history)
    except ValueError as err:
        raise DataError(f'state_features / observation_history: {err}') from None
    return PolicyContract(observation, action, rate_hz=config.control_hz, metadata=dict(metadata or {}))


def episode_state(state_features, episode, idx, action) -> dict:
    """{feature: (len(idx), D) float64} of the episode's frames ``idx`` for the contract's state features.

    previous_command before the first recorded command (NaN from the reader) is the measured pose in command layout
    (``action.measured_command``), exactly what the policy node uses before it has published.
    """
    where = episode.metadata.get('path', 'episode')
    from rlhf_policy.contract import DERIVED_FEATURES
    state = {}
    for name in state_features:
        if name in DERIVED_FEATURES:
            continue  # computed from the joint positions by rlhf_policy.preprocess
        if name == 'previous_command':
            previous = episode.previous_commands
            if previous is None:
                raise DataError(f'{where}: state feature previous_command needs the recorded commands')
            values = np.array(previous[idx], dtype=np.float64)
            values = np.where(np.isnan(values), measured_commands(episode, idx, action), values)
        else:
            source = episode.object_positions if name == 'object_position' else episode.target_positions
            if source is None:
                raise DataError(f'{where}: state feature {name} needs the task state (/rlhf_sim/task_state), '
                                f'which this episode did not record')
            values = np.asarray(source[idx], dtype=np.float64)
        state[name] = values
    return state


def measured_commands(episode, idx, action):
    """(len(idx), C) measured pose of the episode's frames ``idx`` in command layout (DataError: joints missing)."""
    try:
        return action.measured_command(episode.joint_names, episode.joint_positions[idx])
    except ValueError as err:
        raise DataError(f'{episode.metadata.get("path", "episode")}: {err}') from None


def _frames(episode, start_s=None, end_s=None):
    """(frames with a recorded command, the indices of those in [start_s, end_s)): the rows of episode_arrays."""
    from rlhf_preference.segments import in_window
    valid = np.isfinite(episode.actions).all(axis=1)  # frames before the first command, or a stream never recorded
    window = in_window(episode.times, -np.inf if start_s is None else start_s, np.inf if end_s is None else end_s)
    return valid, np.flatnonzero(window & valid)


def frame_count(episode, start_s: float | None = None, end_s: float | None = None) -> int:
    """How many rows ``episode_arrays`` gives for the episode (or its frames in [start_s, end_s))."""
    return len(_frames(episode, start_s, end_s)[1])


def window_rows(episodes, windows) -> np.ndarray:
    """Where the rows of (episode, start_s, end_s) windows sit among the rows of ``episodes`` read whole, in order.

    A window's episode must be one of ``episodes`` (the same object). Overlapping windows can then index one dataset
    of the whole episodes (``datasets.TransitionRows``) instead of holding their frames once per window.
    """
    offsets, start = {}, 0
    for episode in episodes:
        offsets[id(episode)] = start
        start += frame_count(episode)
    parts = [np.zeros(0, np.int64)]
    for episode, start_s, end_s in windows:
        if id(episode) not in offsets:
            raise ValueError(f'window_rows: the window ({start_s}, {end_s}) is of an episode not in the episodes')
        valid, idx = _frames(episode, start_s, end_s)
        parts.append(offsets[id(episode)] + np.searchsorted(np.flatnonzero(valid), idx))
    return np.concatenate(parts)


def episode_arrays(contract, episode, start_s: float | None = None, end_s: float | None = None):
    """(observations {input: (T, ...)}, actions (T, A)) of an episode (or of its frames in [start_s, end_s)).

    A chunk contract's actions are the chunk targets (T, horizon * command_dim) of ``chunk_bc.chunk_targets``,
    from the commands of the whole episode: a chunk looks past the end of the window. So does observation history:
    the first frames of a window see the frames before it, as the policy did.
    """
    from rlhf_policy.preprocess import preprocess_batch
    valid, idx = _frames(episode, start_s, end_s)
    rows = np.flatnonzero(valid)
    first = np.searchsorted(rows, idx[0]) if len(idx) else 0
    read = rows[max(0, first - contract.observation.history + 1):first + len(idx)]   # idx plus its history
    images = {k: v[read] for k, v in episode.images.items()}
    depths = {k: v[read] for k, v in episode.depth.items()}
    state = episode_state(contract.observation.state_features, episode, read, contract.action)
    obs = preprocess_batch(contract, images, depths, episode.joint_positions[read], episode.joint_velocities[read],
                           state=state)
    obs = {k: v[len(read) - len(idx):] for k, v in obs.items()}
    if contract.chunk is None:
        actions = contract.action.from_commands(episode.actions[idx], measured_commands(episode, idx, contract.action))
    else:
        from rlhf_training.chunk_bc import chunk_targets
        rows = np.flatnonzero(valid)
        targets = chunk_targets(episode.actions[rows], measured_commands(episode, rows, contract.action),
                                contract.chunk.horizon, contract.action.group_of('delta'))
        actions = targets[np.searchsorted(rows, idx)].reshape(len(idx), -1)
    return obs, actions.astype(np.float32)


def transitions_from_episodes(contract, episodes: Sequence) -> TransitionDataset:
    """All frames of the episodes.

    Extras: episode (index), timestep, done (last frame of its episode), task_progress (NaN when not recorded).
    """
    parts = []
    for i, ep in enumerate(episodes):
        obs, actions = episode_arrays(contract, ep)
        n = len(actions)
        if n == 0:
            continue
        done = np.zeros(n, dtype=np.float32)
        done[-1] = 1.0
        valid = np.isfinite(ep.actions).all(axis=1)
        progress = (np.asarray(ep.task_progress, np.float32)[valid] if ep.task_progress is not None
                    else np.full(n, np.nan, np.float32))
        parts.append(TransitionDataset(obs, actions, episode=np.full(n, i, np.int64),
                                       timestep=np.arange(n, dtype=np.int64), done=done, task_progress=progress))
    if not parts:
        raise DataError('empty dataset: the selected episodes hold no frames with recorded commands')
    return TransitionDataset.concatenate(parts)


def load_transitions(config: TrainConfig, contract=None, progress: bool = True):
    """(train, validation or None, contract) for BC: episodes split by config.val_fraction (whole episodes)."""
    paths = resolve_episodes(config)
    episodes = read_episodes(paths, config, progress, action=contract.action if contract is not None else None)
    n_val = int(round(len(episodes) * config.val_fraction)) if len(episodes) > 1 else 0
    order = np.random.default_rng(config.seed).permutation(len(episodes))
    val_eps = [episodes[i] for i in sorted(order[:n_val])]
    train_eps = [episodes[i] for i in sorted(order[n_val:])]
    if contract is None:
        contract = make_contract(config, train_eps, {'episodes': [str(p) for p in paths]})
    train = transitions_from_episodes(contract, train_eps)
    val = transitions_from_episodes(contract, val_eps) if val_eps else None
    return train, val, contract


def episode_from_rollout(observations: Sequence[dict], commands, rate_hz: float, joint_names: Sequence[str],
                         cameras: Sequence[str] = (), task_progress=None, task_success=None,
                         metadata: dict | None = None, task_states: Sequence | None = None):
    """An rlhf_recorder `Episode` from a simulated rollout, so rollouts use the same dataset code as bags.

    observations[t]: a ManipulationEnv observation ('<camera>/color', '<camera>/depth', 'joint_positions',
    'joint_velocities'); commands[t]: the (8,) command sent after observing it (the reader's alignment rule);
    previous_commands[t] = commands[t - 1] (NaN at t = 0: the measured pose is used, as the reader's rule 4).
    task_states[t]: the env's ``info['task_state']`` when observations[t] was made (object/target positions).
    """
    from rlhf_recorder.reader import Episode
    n = len(observations)
    commands = np.asarray(commands, dtype=np.float64).reshape(n, -1)
    if n == 0:
        raise DataError('episode_from_rollout: the rollout has no steps')
    images = {c: np.stack([o[f'{c}/color'] for o in observations]) for c in cameras}
    depth = {c: np.stack([o[f'{c}/depth'] for o in observations]) for c in cameras
             if f'{c}/depth' in observations[0]}
    previous = np.full_like(commands, np.nan)
    previous[1:] = commands[:-1]
    objects = targets = None
    if task_states is not None:
        if len(task_states) != n:
            raise DataError(f'episode_from_rollout: {len(task_states)} task states for {n} observations')
        objects = np.stack([np.asarray(s.object_poses, np.float64)[0, :3] for s in task_states])
        targets = np.stack([np.asarray(s.target_pose, np.float64)[:3] for s in task_states])
    return Episode(times=np.arange(n) / float(rate_hz), images=images, depth=depth, joint_names=list(joint_names),
                   joint_positions=np.stack([o['joint_positions'] for o in observations]).astype(np.float64),
                   joint_velocities=np.stack([o['joint_velocities'] for o in observations]).astype(np.float64),
                   actions=commands,
                   task_progress=None if task_progress is None else np.asarray(task_progress, np.float64),
                   task_success=None if task_success is None else np.asarray(task_success, bool),
                   metadata=dict(metadata or {}), cameras=list(cameras), object_positions=objects,
                   target_positions=targets, previous_commands=previous)


# ------------------------------------------------------------------------------------- preferences
class SegmentLoader:
    """Turn rlhf_preference Segments (episode path + time window) into (observations, actions) arrays.

    Episodes are read once each and kept in a small cache (`max_cached` episodes); usable as the
    `load_segment` of `rlhf_training.reward.disagreement_scorer`.
    """

    def __init__(self, contract, rate_hz: float = 10.0, max_cached: int = 4):
        self.contract = contract
        self.rate_hz = rate_hz
        self.max_cached = max_cached
        self._cache: dict[str, object] = {}

    def episode(self, path: str):
        from rlhf_recorder.reader import read_episode
        key = str(path)
        if key not in self._cache:
            if not (Path(path) / 'metadata.yaml').is_file():
                raise DataError(f'episode {path} does not exist (no metadata.yaml)')
            cameras = [c.name for c in self.contract.observation.cameras]
            episode = read_episode(path, rate_hz=self.rate_hz, cameras=cameras, images=bool(cameras),
                                   commands=self.contract.action.command_topics)
            episode.metadata.setdefault('path', key)
            while len(self._cache) >= self.max_cached:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = episode
        return self._cache[key]

    def __call__(self, segment):
        obs, actions = episode_arrays(self.contract, self.episode(segment.episode_path),
                                      segment.start_s, segment.end_s)
        if len(actions) == 0:
            raise DataError(f'segment {segment.episode_id} [{segment.start_s}, {segment.end_s}) s has no frames '
                            f'at {self.rate_hz} Hz')
        return obs, actions


def load_preference_records(path: str):
    """rlhf_preference.export.load_preferences with missing episodes and empty files as DataError."""
    from rlhf_preference.export import PreferenceFileError, load_preferences
    if not path:
        raise DataError('preferences: no preference export given (set preferences: <file>)')
    try:
        records = load_preferences(path, check_episodes=True)
    except PreferenceFileError as err:
        raise DataError(f'preferences: {err}') from None
    if not records:
        raise DataError(f'empty dataset: preference export {path} holds no (included) preference pairs')
    return records


def load_preference_pairs(config, contract=None, progress: bool = True):
    """(train, validation, contract) SegmentPairDatasets from config.preferences, split by config.val_fraction.

    Without a contract (reward learning), the normalisation statistics come from the referenced episodes; CPL
    passes the pretrained policy's contract so the fine-tuned policy sees the same inputs.
    """
    from tqdm import tqdm
    records = load_preference_records(config.preferences)
    episode_paths = sorted({s.episode_path for r in records for s in (r.segment_a, r.segment_b)})
    if contract is None:
        episodes = read_episodes([Path(p) for p in episode_paths], config, progress=progress)
        contract = make_contract(config, episodes, {'preferences': str(config.preferences)})
    loader = SegmentLoader(contract, config.rate_hz, max_cached=2)
    keys: dict[tuple, int] = {}
    segments: list = []
    by_episode: dict[str, list] = {}
    for r in records:
        for s in (r.segment_a, r.segment_b):
            key = (s.episode_path, s.start_s, s.end_s)
            if key not in keys:
                keys[key] = len(keys)
                by_episode.setdefault(s.episode_path, []).append((key, s))
    segments = [None] * len(keys)
    for path in tqdm(sorted(by_episode), desc='reading segments', unit='episode', disable=not progress):
        for key, s in by_episode[path]:  # all segments of an episode while it is cached
            segments[keys[key]] = loader(s)
    pairs = [(keys[(r.segment_a.episode_path, r.segment_a.start_s, r.segment_a.end_s)],
              keys[(r.segment_b.episode_path, r.segment_b.start_s, r.segment_b.end_s)]) for r in records]
    data = SegmentPairDataset(segments, pairs, [r.label for r in records], pair_ids=[r.pair_id for r in records])
    train, val = data.split(config.val_fraction, seed=config.seed)
    if len(train) == 0:
        raise DataError(f'empty dataset: {len(data)} preference pairs leave none for training at '
                        f'val_fraction={config.val_fraction}')
    return train, val, contract
