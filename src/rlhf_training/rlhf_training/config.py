# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Training configuration: one dataclass per algorithm, loaded from YAML plus `key=value` overrides.

Every field has a documented default (also in config/<algorithm>.yaml). Unknown keys and values of the wrong
type are errors that name the key and list the valid ones, raised before any data is read (the workspace's one
settings loader, ``rlhf_common.settings``).
"""

from dataclasses import asdict, dataclass, field

from rlhf_common.settings import SettingsError as ConfigError
from rlhf_common.settings import make_settings, settings_values


@dataclass
class TrainConfig:
    """Fields shared by every algorithm."""

    algorithm: str = ''             # bc | reward | cpl | sac | rl
    seed: int = 0                   # seeds torch, numpy, python and the batch sampler
    steps: int = 1000               # optimiser steps
    batch_size: int = 256           # global batch (all processes and accumulation steps together)
    grad_accum: int = 1             # micro-batches per optimiser step (per process)
    lr: float = 3e-4
    weight_decay: float = 0.0       # AdamW weight decay
    grad_clip: float = 1.0          # max global gradient norm; 0 disables clipping
    ddp_find_unused: bool = False   # DDP find_unused_parameters (for custom models with unused parameters)
    # networks
    hidden_dims: list[int] = field(default_factory=lambda: [256, 256])
    encoder: str = 'cnn'            # image encoder registered with models.register_encoder
    encoder_options: dict = field(default_factory=dict)
    image_feature_dim: int = 64     # features per camera
    proprio_feature_dim: int = 64
    # data (episodes recorded by rlhf_recorder)
    data_dir: str = 'data'          # <data_dir>/catalog.sqlite and <data_dir>/episodes/<id>/
    episodes: list[str] = field(default_factory=list)  # episode ids or bag paths; empty = catalog selection
    task: str = ''                  # catalog filter when episodes is empty ('' = any task)
    outcome: str = ''               # catalog filter ('' = any outcome; 'success' for clean demonstrations)
    cameras: list[str] = field(default_factory=lambda: ['scene_camera', 'wrist_camera'])  # [] = state only
    # extra policy observations (rlhf_policy.contract.STATE_FEATURES): object_position, target_position,
    # previous_command; appended to the proprio vector in this order
    state_features: list[str] = field(default_factory=list)
    image_width: int = 64
    image_height: int = 64
    use_depth: bool = False         # 4th channel = depth / max_depth_m
    max_depth_m: float = 2.0
    observation_history: int = 1    # frames per observation: this tick's and N-1 before it (contract history)
    rate_hz: float = 10.0           # sampling rate of frames read from the bags
    control_hz: float = 30.0        # rate the exported policy runs at (contract rate_hz)
    max_delta_rad: float = 0.05     # contract: joint target change per control tick at action +-1
    val_fraction: float = 0.1       # held-out fraction (episodes for BC, pairs for reward/CPL)
    # output
    out_dir: str = 'runs/train'
    log_every: int = 10             # CSV / TensorBoard every N steps
    eval_every: int = 200           # validation every N steps (and at the end)
    checkpoint_every: int = 500     # checkpoint every N steps (and at the end)
    resume: bool = True             # continue from <out_dir>/checkpoints/latest.pt when it exists
    wandb: bool = False             # also log to Weights & Biases (only if wandb is installed)
    device: str = 'auto'            # auto | cpu | cuda | cuda:N
    progress: bool = True           # tqdm progress bar
    export_onnx: bool = True        # write policy.onnx + contract.yaml at the end (policy algorithms)


@dataclass
class BCConfig(TrainConfig):
    algorithm: str = 'bc'
    out_dir: str = 'runs/bc'
    outcome: str = 'success'        # demonstrations that succeeded
    loss: str = 'nll'               # nll: -log pi(a|o) of the tanh-Gaussian; mse: (tanh(mean) - a)^2
    steps: int = 2000


@dataclass
class RewardConfig(TrainConfig):
    algorithm: str = 'reward'
    out_dir: str = 'runs/reward'
    preferences: str = ''           # preference export (rlhf_preference.export)
    ensemble_size: int = 3
    reward_model: str = 'mlp'       # registered with models.register_reward_model
    reward_model_options: dict = field(default_factory=dict)
    batch_size: int = 64            # preference pairs per step
    steps: int = 1000
    export_onnx: bool = False


CPL_LIKELIHOODS = ('tanh_gaussian', 'squared_error')   # how CPL scores a segment (rlhf_training.cpl)
CPL_SPREADS = ('learned', 'pretrained')


@dataclass
class CPLConfig(TrainConfig):
    algorithm: str = 'cpl'
    out_dir: str = 'runs/cpl'
    preferences: str = ''           # preference export (rlhf_preference.export)
    pretrained: str = ''            # checkpoint of the policy to fine-tune (BC or SAC); '' = from scratch
    lr: float = 1e-4                # piano-project preset
    batch_size: int = 32            # preference pairs per step
    alpha: float = 0.1              # temperature: A = alpha * sum_t gamma^t log pi(a_t|s_t)
    gamma: float = 1.0              # discount inside a segment
    lam: float = 0.5                # weight of the less preferred segment (1 = plain CPL, <1 = biased CPL)
    relative_to_pretrained: bool = False  # A from log pi - log pi_pretrained (no offset from the spread's level)
    conservative_weight: float = 0.01  # MSE between deterministic actions and the frozen pretrained policy's
    likelihood: str = 'tanh_gaussian'  # log pi of a segment: tanh_gaussian | squared_error (-||tanh(mean) - a||^2)
    spread: str = 'learned'         # tanh_gaussian's spread: learned (the policy's) | pretrained (frozen)
    bc_weight: float = 0.0          # CPL-BC: + bc_weight * per-step NLL of the preferred segment
    steps: int = 1000

    def __post_init__(self):
        for name, ok, expected in (
                ('likelihood', self.likelihood in CPL_LIKELIHOODS, f'one of {CPL_LIKELIHOODS}'),
                ('spread', self.spread in CPL_SPREADS, f'one of {CPL_SPREADS}'),
                ('bc_weight', self.bc_weight >= 0, 'a number >= 0')):
            if not ok:
                raise ConfigError(f'cpl: {name} must be {expected}, got {getattr(self, name)!r}')


@dataclass
class SACConfig(TrainConfig):
    """SAC with the DroQ critic on an environment's own reward (rlhf_training.sac).

    ``steps`` counts environment steps; ``lr`` is the actor's and the critics' learning rate. Defaults: the
    piano project's preset (lr 3e-4 for every network, batch 256, tau 0.01, initial temperature 1.2, 3x256,
    critic dropout 0.01 + layer norm) with discount 0.99 and UTD 2 for reaching on this CPU.
    """

    algorithm: str = 'sac'
    out_dir: str = 'runs/sac'
    env: str = 'reach'              # rlhf_training.envs.ENVS: reach | point_reach | manipulation | piano
    env_options: dict = field(default_factory=dict)  # keyword arguments of the environment
    steps: int = 20_000             # environment steps
    batch_size: int = 256
    lr: float = 3e-4                # actor and critics
    temperature_lr: float = 3e-4
    grad_clip: float = 0.0          # 0: no clipping
    hidden_dims: list[int] = field(default_factory=lambda: [256, 256, 256])  # actor and each critic
    tau: float = 0.01               # Polyak averaging rate of the target critic
    discount: float = 0.99          # the piano uses 0.8 (a reward at every key press)
    init_temperature: float = 1.2
    target_entropy: float | None = None  # None: -|A| (minus the action dimension)
    critic_dropout: float = 0.01    # DroQ: dropout + layer norm in each Q network
    critic_layer_norm: bool = True
    utd_ratio: int = 2              # critic updates per environment step (DroQ: 20)
    buffer_size: int = 200_000
    warmup_steps: int = 1000        # uniformly random actions before the policy acts
    eval_every: int = 2000          # environment steps between deterministic evaluations (0: only at the end)
    eval_episodes: int = 5
    checkpoint_every: int = 0       # environment steps between checkpoints (0: at each evaluation and the end)
    save_replay_buffer: bool = True  # keep the replay buffer with the checkpoint (checkpoints/replay.pt)
    max_wall_s: float = 0.0         # stop (and save) after this much wall time; 0: no limit
    device: str = 'cpu'             # SAC's small networks and per-step updates run fastest on the CPU
    warm_start: str = ''            # '' (from scratch) | scripted: BC on a scripted player + its transitions
    warm_start_episodes: int = 10   # scripted episodes (with warm_start_noise added to the actions)
    warm_start_noise: float = 0.1
    warm_start_bc_steps: int = 0    # NLL behaviour-cloning steps of the actor on them (0: buffer only)
    reference_weight: float = 0.0   # a warm-started actor: + weight * ||action - its first action||^2 per state

    def __post_init__(self):
        checks = [
            ('hidden_dims', len(self.hidden_dims) > 0 and all(int(h) > 0 for h in self.hidden_dims),
             'a non-empty list of positive layer widths'),
            ('lr', self.lr > 0, 'a positive number'),
            ('temperature_lr', self.temperature_lr > 0, 'a positive number'),
            ('batch_size', self.batch_size > 0, 'a positive integer'),
            ('tau', 0 < self.tau <= 1, 'a number in (0, 1]'),
            ('discount', 0 <= self.discount < 1, 'a number in [0, 1)'),
            ('init_temperature', self.init_temperature > 0, 'a positive number'),
            ('critic_dropout', 0 <= self.critic_dropout < 1, 'a number in [0, 1)'),
            ('utd_ratio', self.utd_ratio >= 1, 'an integer >= 1'),
            ('buffer_size', self.buffer_size >= self.batch_size, 'an integer >= batch_size'),
            ('warmup_steps', self.warmup_steps >= 0, 'an integer >= 0'),
            ('steps', self.steps > 0, 'a positive integer'),
            ('eval_every', self.eval_every >= 0, 'an integer >= 0'),
            ('eval_episodes', self.eval_episodes >= 1, 'an integer >= 1'),
            ('checkpoint_every', self.checkpoint_every >= 0, 'an integer >= 0'),
            ('grad_clip', self.grad_clip >= 0, 'a number >= 0'),
            ('max_wall_s', self.max_wall_s >= 0, 'a number >= 0'),
            ('warm_start', self.warm_start in ('', 'scripted'), "'' or 'scripted'"),
            ('warm_start_episodes', self.warm_start_episodes >= 1, 'an integer >= 1'),
            ('warm_start_noise', self.warm_start_noise >= 0, 'a number >= 0'),
            ('warm_start_bc_steps', self.warm_start_bc_steps >= 0, 'an integer >= 0'),
            ('reference_weight', self.reference_weight >= 0, 'a number >= 0'),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise ConfigError(f"{self.algorithm}: {name} must be {expected}, got {getattr(self, name)!r}")


@dataclass
class RLConfig(SACConfig):
    """SAC (DroQ) in the simulation on a Bradley-Terry reward ensemble's r_hat (rlhf_training.rl)."""

    algorithm: str = 'rl'
    out_dir: str = 'runs/rl'
    reward_checkpoint: str = ''     # checkpoint file or run directory of a reward training run (holds its contract)
    task: str = 'pick_place'        # rlhf_sim task
    max_episode_steps: int = 300    # control ticks per episode (at the contract's rate)
    privileged_state: bool = True   # the SAC actor also sees object/target positions (the reward model does not)
    normalize_reward: bool = True   # divide r_hat by its running std
    center_reward: bool = False     # also subtract the running mean (changes the optimum if episodes end early)


@dataclass
class ChunkBCConfig(BCConfig):
    algorithm: str = 'chunk_bc'
    out_dir: str = 'runs/chunk_bc'
    loss: str = 'mse'               # mse | l1, on standardised chunk targets
    horizon: int = 20               # commands predicted per observation (control ticks)
    shift_pad: int = 4              # random-shift augmentation of camera inputs (pixels); 0 = off
    encoder: str = 'spatial_softmax'  # keypoints: pick_place from cameras 0.78 offline where 'cnn' gave 0.62
    rate_hz: float = 30.0           # frames read from the bags: one per control tick (must equal control_hz)
    lr: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 256
    steps: int = 3000
    hidden_dims: list[int] = field(default_factory=lambda: [512, 512, 512])


CONFIGS: dict[str, type] = {'bc': BCConfig, 'chunk_bc': ChunkBCConfig, 'reward': RewardConfig, 'cpl': CPLConfig,
                            'sac': SACConfig, 'rl': RLConfig}


def register_config(algorithm: str, config_class: type) -> None:
    """Make `algorithm: <name>` in a YAML file build `config_class` (a TrainConfig subclass)."""
    CONFIGS[algorithm] = config_class


def make_config(values: dict, where: str = 'config', config_class: type | None = None) -> TrainConfig:
    """Build the config dataclass of values['algorithm'] from a dict, checking keys and types."""
    if config_class is None:
        algorithm = values.get('algorithm')
        if algorithm not in CONFIGS:
            raise ConfigError(f'{where}: algorithm must be one of {sorted(CONFIGS)}, got {algorithm!r}')
        config_class = CONFIGS[algorithm]
    try:
        return make_settings(config_class, values, where)
    except ConfigError as err:
        raise ConfigError(f'{err} (algorithm {config_class().algorithm!r})') from None


def load_config(path=None, overrides=(), **values) -> TrainConfig:
    """Read a YAML config, apply `key=value` overrides (values parsed as YAML) and keyword values."""
    data, where = settings_values(path, overrides, **values)
    return make_config(data, where)


def config_to_dict(config: TrainConfig) -> dict:
    return asdict(config)
