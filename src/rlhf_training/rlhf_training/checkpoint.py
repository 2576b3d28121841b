# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Rebuild models from checkpoints: a model is saved as {'build': plain constructor data, 'state': state_dict}."""

from pathlib import Path

from rlhf_training.config import TrainConfig
from rlhf_training.models import ChunkPolicy, GaussianPolicy, RewardEnsemble
from rlhf_training.trainer import load_checkpoint


def policy_build_info(config: TrainConfig, observation_shapes: dict, action_dim: int = 8) -> dict:
    """Constructor data of a GaussianPolicy sized by `config` (hidden_dims, encoder, feature sizes)."""
    return {'kind': 'gaussian_policy',
            'observation_shapes': {k: [int(d) for d in v] for k, v in observation_shapes.items()},
            'action_dim': int(action_dim), 'hidden_dims': [int(h) for h in config.hidden_dims],
            'encoder': config.encoder, 'encoder_options': dict(config.encoder_options),
            'image_feature_dim': int(config.image_feature_dim),
            'proprio_feature_dim': int(config.proprio_feature_dim)}


def chunk_build_info(config, observation_shapes: dict, action_dim: int = 8) -> dict:
    """Constructor data of a ChunkPolicy sized by `config` (a ChunkBCConfig: horizon, hidden_dims, encoder)."""
    info = policy_build_info(config, observation_shapes, action_dim)
    info.update(kind='chunk_policy', horizon=int(config.horizon))
    return info


def reward_build_info(config, observation_shapes: dict, action_dim: int = 8) -> dict:
    """Constructor data of a RewardEnsemble (config: a RewardConfig)."""
    options = {'hidden_dims': [int(h) for h in config.hidden_dims], 'encoder': config.encoder,
               'encoder_options': dict(config.encoder_options), 'image_feature_dim': int(config.image_feature_dim),
               'proprio_feature_dim': int(config.proprio_feature_dim)}
    if config.reward_model != 'mlp':
        options = {}
    options.update(config.reward_model_options)
    return {'kind': 'reward_ensemble', 'num_members': int(config.ensemble_size), 'name': config.reward_model,
            'observation_shapes': {k: [int(d) for d in v] for k, v in observation_shapes.items()},
            'action_dim': int(action_dim), 'options': options}


def build_model(build: dict):
    """Fresh (randomly initialised) model from its build info."""
    shapes = {k: tuple(v) for k, v in build['observation_shapes'].items()}
    if build['kind'] in ('gaussian_policy', 'chunk_policy'):
        kwargs = {k: v for k, v in build.items() if k not in ('kind', 'observation_shapes')}
        return (GaussianPolicy if build['kind'] == 'gaussian_policy' else ChunkPolicy)(shapes, **kwargs)
    if build['kind'] == 'reward_ensemble':
        return RewardEnsemble.build(build['num_members'], build['name'], shapes, build['action_dim'],
                                    **build['options'])
    raise ValueError(f'unknown model kind {build["kind"]!r} in checkpoint')


def load_model(checkpoint: str | Path | dict, name: str):
    """Model `name` ('policy', 'reward', ...) of a checkpoint file / run directory / loaded dict, weights loaded."""
    state = checkpoint if isinstance(checkpoint, dict) else load_checkpoint(checkpoint)
    models = state.get('models', {})
    if name not in models:
        raise KeyError(f'checkpoint has no model {name!r}; it holds {sorted(models)}')
    model = build_model(models[name]['build'])
    model.load_state_dict(models[name]['state'])
    return model


def load_policy(checkpoint: str | Path | dict):
    """(GaussianPolicy or ChunkPolicy in eval mode, contract YAML text or None) of a checkpoint."""
    state = checkpoint if isinstance(checkpoint, dict) else load_checkpoint(checkpoint)
    policy = load_model(state, 'policy').eval()
    return policy, state.get('extra', {}).get('contract_yaml')


def load_reward_ensemble(checkpoint: str | Path | dict) -> RewardEnsemble:
    return load_model(checkpoint, 'reward').eval()
