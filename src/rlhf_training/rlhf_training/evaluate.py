# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Offline evaluation of a policy in the simulation, and of policies/reward models against preferences.

Rollouts: a policy (a torch ``GaussianPolicy`` or an exported ONNX model, each with its ``PolicyContract``)
drives ``rlhf_sim.env.ManipulationEnv`` for N seeded episodes. Observations go through
``rlhf_policy.preprocess.preprocess`` and actions through ``ActionSpec.to_command``, exactly as the policy
node on the robot does. Per episode: success, completion time (s, first success), return, final task
progress, smoothness as the mean squared jerk of the arm joint positions (rad^2/s^6, third finite
difference at the control rate) and the mean |delta action| (normalised actions, per step and dimension).
A few episodes can be rendered to MP4 (PyAV, H.264).

Preference alignment: the fraction of held-out (non-tie) preference pairs on which the policy (its segment
log-likelihood sum_t log pi(a_t|s_t)) or a reward model (its segment return sum_t r_hat) ranks the two
segments as the human label does.

Console script ``evaluate_offline``: results as a table and a JSON file.
"""

import argparse
from dataclasses import asdict, dataclass, field
import json
import math
from pathlib import Path
import sys

import numpy as np
import torch
from tqdm import tqdm

from rlhf_policy.contract import PolicyContract
from rlhf_policy.preprocess import preprocess


class TorchPolicyRunner:
    """A torch GaussianPolicy run deterministically (tanh of the mean) on preprocessed inputs."""

    def __init__(self, policy, device='cpu'):
        self.policy = policy.to(device).eval()
        self.device = device

    @torch.no_grad()
    def __call__(self, inputs):
        obs = {k: torch.from_numpy(v).to(self.device) for k, v in inputs.items()}
        return self.policy.deterministic(obs)[0].cpu().numpy().astype(np.float64)


class OnnxPolicyRunner:
    """An exported ONNX policy run in an ONNX Runtime session (CPU provider unless told otherwise)."""

    def __init__(self, model_path, contract, providers=('CPUExecutionProvider',)):
        import onnxruntime as ort
        path = Path(model_path)
        if not path.is_file():
            raise FileNotFoundError(f'ONNX model {path} does not exist (contract model_file: {contract.model_file!r})')
        self.session = ort.InferenceSession(str(path), providers=list(providers))
        names = [i.name for i in self.session.get_inputs()]
        if sorted(names) != sorted(contract.onnx_inputs):
            raise ValueError(f'{path}: model inputs {names} do not match the contract onnx_inputs '
                             f'{contract.onnx_inputs}')
        self.output = contract.onnx_output

    def __call__(self, inputs):
        return np.asarray(self.session.run([self.output], inputs)[0][0], dtype=np.float64)


def load_onnx_policy(contract_path):
    """(runner, contract) from a contract.yaml next to its ONNX model."""
    contract = PolicyContract.load(contract_path)
    return OnnxPolicyRunner(contract.model_path(contract_path), contract), contract


def squared_jerk(positions, dt):
    """Mean squared jerk (third derivative by finite differences) of (T, J) positions sampled every dt s."""
    q = np.asarray(positions, dtype=np.float64)
    if len(q) < 4:
        return float('nan')
    jerk = np.diff(q, n=3, axis=0) / dt ** 3
    return float(np.mean(jerk ** 2))


def mean_action_change(actions):
    a = np.asarray(actions, dtype=np.float64)
    if len(a) < 2:
        return float('nan')
    return float(np.mean(np.abs(np.diff(a, axis=0))))


@dataclass
class EpisodeResult:
    seed: int
    success: bool
    steps: int
    completion_time_s: float  # NaN when the episode did not succeed
    episode_return: float
    final_progress: float
    squared_jerk: float
    action_change: float
    video: str = ''


@dataclass
class EvaluationResult:
    task: str
    episodes: list = field(default_factory=list)

    def summary(self):
        eps = self.episodes
        times = [e.completion_time_s for e in eps if e.success]

        def mean(values):
            values = [v for v in values if not math.isnan(v)]
            return float(np.mean(values)) if values else float('nan')
        return {
            'task': self.task,
            'episodes': len(eps),
            'success_rate': mean([float(e.success) for e in eps]),
            'completion_time_s': mean(times),
            'return': mean([e.episode_return for e in eps]),
            'final_progress': mean([e.final_progress for e in eps]),
            'squared_jerk': mean([e.squared_jerk for e in eps]),
            'action_change': mean([e.action_change for e in eps]),
            'seeds': [e.seed for e in eps],
        }

    def to_dict(self):
        return {'summary': self.summary(), 'episodes': [asdict(e) for e in self.episodes]}

    def table(self):
        s = self.summary()
        rows = [('task', s['task']), ('episodes', str(s['episodes'])),
                ('success rate', f"{s['success_rate']:.3f}"),
                ('completion time (s, successes)', f"{s['completion_time_s']:.2f}"),
                ('return', f"{s['return']:.3f}"), ('final progress', f"{s['final_progress']:.3f}"),
                ('mean squared jerk (rad^2/s^6)', f"{s['squared_jerk']:.4g}"),
                ('mean |delta action|', f"{s['action_change']:.4f}")]
        width = max(len(k) for k, _ in rows)
        return '\n'.join(f'{k:<{width}}  {v}' for k, v in rows)


class VideoWriter:
    """MP4 (H.264, yuv420p) through PyAV; frames are (H, W, 3) uint8 with even H and W."""

    def __init__(self, path, fps, width, height):
        import av
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.container = av.open(str(self.path), mode='w')
        self.stream = self.container.add_stream('libx264', rate=int(round(fps)))
        self.stream.width, self.stream.height = int(width), int(height)
        self.stream.pix_fmt = 'yuv420p'
        self._av = av

    def write(self, frame):
        image = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format='rgb24')
        for packet in self.stream.encode(image):
            self.container.mux(packet)

    def close(self):
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()


def _joint_index(contract_names, env_names, what):
    missing = [n for n in contract_names if n not in env_names]
    if missing:
        raise ValueError(f'contract {what} {missing} are not joints of the simulation ({env_names})')
    return np.array([env_names.index(n) for n in contract_names])


def state_features(contract, task_state, q, arm_idx, previous_command):
    """The contract's state features from the env's task state and the last command (None: hold the pose)."""
    from rlhf_sim.robot import FINGER_JOINT_NAMES, JOINT_NAMES
    state = {}
    for name in contract.observation.state_features:
        if name == 'object_position':
            state[name] = np.asarray(task_state.object_poses, np.float64)[0, :3]
        elif name == 'target_position':
            state[name] = np.asarray(task_state.target_pose, np.float64)[:3]
        elif name == 'previous_command':
            state[name] = (np.r_[q[arm_idx], q[list(JOINT_NAMES).index(FINGER_JOINT_NAMES[0])]]
                           if previous_command is None else previous_command)
    return state


def evaluate_policy(runner, contract, task='pick_place', episodes=50, seed=0, max_steps=300,
                    video_dir=None, video_episodes=2, video_camera='scene_camera', video_size=(320, 240),
                    progress=True):
    """Roll ``runner`` (inputs dict -> normalised action (8,)) out for ``episodes`` seeds seed, seed+1, ...

    Returns an EvaluationResult; MP4s of the first ``video_episodes`` episodes go to ``video_dir``.
    """
    from rlhf_sim.env import ManipulationEnv
    from rlhf_sim.robot import JOINT_NAMES

    cameras = tuple(c.name for c in contract.observation.cameras)
    use_depth = any(c.use_depth for c in contract.observation.cameras)
    env = ManipulationEnv(task=task, cameras=cameras, depth=use_depth, control_hz=contract.rate_hz,
                          max_episode_steps=max_steps)
    obs_idx = _joint_index(contract.observation.joint_names, list(JOINT_NAMES), 'observation.joint_names')
    arm_idx = _joint_index(contract.action.arm_joint_names, list(JOINT_NAMES), 'action.arm_joint_names')
    dt = 1.0 / contract.rate_hz
    video_renderer = None
    if video_dir is not None and video_episodes > 0:
        from rlhf_sim.cameras import CameraRenderer
        video_renderer = CameraRenderer(env.model, (video_camera,), video_size[0], video_size[1], False)
    result = EvaluationResult(task=task)
    try:
        for ep in tqdm(range(episodes), desc=f'evaluate {task}', disable=not progress, dynamic_ncols=True):
            ep_seed = seed + ep
            obs, info = env.reset(seed=ep_seed)
            writer = None
            if video_renderer is not None and ep < video_episodes:
                writer = VideoWriter(Path(video_dir) / f'{task}_seed{ep_seed}.mp4', contract.rate_hz, *video_size)
            positions, actions, total, success_step = [], [], 0.0, None
            previous = None  # the last command sent (None before the first: the measured pose, as the node)
            for step in range(max_steps):
                if writer is not None:
                    writer.write(video_renderer.render(env.data)[f'{video_camera}/color'])
                q, qd = np.asarray(obs['joint_positions']), np.asarray(obs['joint_velocities'])
                images = {c: obs[f'{c}/color'] for c in cameras}
                depths = {c: obs[f'{c}/depth'] for c in cameras if f'{c}/depth' in obs}
                state = state_features(contract, info['task_state'], q, arm_idx, previous)
                inputs = preprocess(contract, images, depths, q[obs_idx], qd[obs_idx], state=state)
                action = np.asarray(runner(inputs), dtype=np.float64).reshape(-1)
                command = contract.action.to_command(action, q[arm_idx])
                previous = command
                positions.append(q[arm_idx])
                actions.append(np.clip(action, -1.0, 1.0))
                obs, reward, terminated, truncated, info = env.step(command)
                total += reward
                if info['success'] and success_step is None:
                    success_step = step + 1
                if terminated or truncated:
                    break
            if writer is not None:
                writer.write(video_renderer.render(env.data)[f'{video_camera}/color'])
                writer.close()
            positions.append(np.asarray(obs['joint_positions'])[arm_idx])
            result.episodes.append(EpisodeResult(
                seed=ep_seed, success=success_step is not None, steps=len(actions),
                completion_time_s=success_step * dt if success_step is not None else float('nan'),
                episode_return=float(total), final_progress=float(info['progress']),
                squared_jerk=squared_jerk(positions, dt), action_change=mean_action_change(actions),
                video=str(writer.path) if writer is not None else ''))
    finally:
        if video_renderer is not None:
            video_renderer.close()
        env.close()
    return result


def preference_alignment(dataset, policy=None, reward_model=None, gamma=1.0):
    """Agreement with the human labels on held-out pairs (ties, label 0.5, are left out).

    ``dataset`` is a ``SegmentPairDataset``; returns {'policy': {...}, 'reward_model': {...}} for the models given,
    each with 'accuracy' and 'pairs'.
    """
    from rlhf_training.cpl import policy_preference_accuracy
    from rlhf_training.models import RewardEnsemble
    from rlhf_training.reward import preference_accuracy

    out = {}
    if policy is not None:
        out['policy'] = policy_preference_accuracy(policy, dataset, gamma=gamma)
    if reward_model is not None:
        ensemble = reward_model if isinstance(reward_model, RewardEnsemble) else RewardEnsemble([reward_model])
        stats = preference_accuracy(ensemble, dataset)
        out['reward_model'] = {'accuracy': float(stats['accuracy']), 'pairs': int(stats.get('pairs', len(dataset)))}
    return out


def _parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='evaluate_offline',
        description='Roll a policy out in the simulation (success, completion time, smoothness, videos).')
    parser.add_argument('--contract', required=True, type=Path,
                        help='contract.yaml of an exported policy (its model_file is the ONNX model)')
    parser.add_argument('--task', default='pick_place', help='simulation task (default pick_place)')
    parser.add_argument('--episodes', type=int, default=50, help='number of seeded episodes (default 50)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the first episode (default 0)')
    parser.add_argument('--max-steps', type=int, default=300, help='control ticks per episode (default 300)')
    parser.add_argument('--video-dir', type=Path, default=None, help='write MP4s of the first episodes here')
    parser.add_argument('--video-episodes', type=int, default=2)
    parser.add_argument('--video-camera', default='scene_camera')
    parser.add_argument('--out', type=Path, default=None, help='write the results as JSON here')
    parser.add_argument('--no-progress', action='store_true')
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f'--episodes must be >= 1, got {args.episodes}')
    if args.max_steps < 1:
        parser.error(f'--max-steps must be >= 1, got {args.max_steps}')
    return args


def main(argv=None):
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(max(1, min(4, torch.get_num_threads())))
    try:
        runner, contract = load_onnx_policy(args.contract)
    except (OSError, ValueError) as err:
        print(f'evaluate_offline: {err}', file=sys.stderr)
        return 2
    result = evaluate_policy(runner, contract, task=args.task, episodes=args.episodes, seed=args.seed,
                             max_steps=args.max_steps, video_dir=args.video_dir, video_episodes=args.video_episodes,
                             video_camera=args.video_camera, progress=not args.no_progress)
    print(result.table())
    videos = [e.video for e in result.episodes if e.video]
    if videos:
        print('videos: ' + ', '.join(videos))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result.to_dict(), indent=2, allow_nan=True))
        print(f'results written to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
