# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Training configuration: one dataclass per algorithm, loaded from YAML plus `key=value` overrides.

Every field has a documented default (also in config/<algorithm>.yaml). Unknown keys and values of the wrong
type are errors that name the key and list the valid ones, raised before any data is read (the workspace's one
settings loader, ``rlhf_common.settings``).
"""

from dataclasses import asdict, dataclass, field

from rlhf_common.settings import SettingsError as ConfigError
from rlhf_common.settings import make_settings, parse_override, settings_values  # noqa: F401 (parse_override: API)


@dataclass
class TrainConfig:
    """Fields shared by every algorithm."""

    algorithm: str = ''             # bc | reward | cpl (| sac | rl from the RL modules)
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
    steps: int = 1000


CONFIGS: dict[str, type] = {'bc': BCConfig, 'reward': RewardConfig, 'cpl': CPLConfig}


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
