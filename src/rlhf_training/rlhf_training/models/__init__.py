# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Networks: MLP, image encoders (plug-in registry), observation encoder, Gaussian and chunk policies, reward models."""

from rlhf_training.models.chunk_policy import ChunkActor, ChunkPolicy
from rlhf_training.models.encoders import (
                                           PROPRIO_KEY,
                                           ConvEncoder,
                                           ObservationEncoder,
                                           available_encoders,
                                           build_encoder,
                                           flatten_time,
                                           observation_shapes,
                                           register_encoder,
)
from rlhf_training.models.mlp import MLP
from rlhf_training.models.policy import ACTION_EPS, DeterministicActor, GaussianPolicy, tanh_log_det
from rlhf_training.models.reward import (
                                           MLPRewardModel,
                                           RewardEnsemble,
                                           RewardModel,
                                           available_reward_models,
                                           build_reward_model,
                                           register_reward_model,
)
from rlhf_training.models.spatial_softmax import SpatialSoftmaxEncoder  # registers 'spatial_softmax'

__all__ = [
    'ACTION_EPS', 'available_encoders', 'available_reward_models', 'build_encoder', 'build_reward_model',
    'ChunkActor', 'ChunkPolicy', 'ConvEncoder', 'DeterministicActor', 'flatten_time', 'GaussianPolicy', 'MLP',
    'MLPRewardModel',
    'observation_shapes', 'ObservationEncoder', 'PROPRIO_KEY', 'register_encoder', 'register_reward_model',
    'RewardEnsemble', 'RewardModel', 'SpatialSoftmaxEncoder', 'tanh_log_det',
]
