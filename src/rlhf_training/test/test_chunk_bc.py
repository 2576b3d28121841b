# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Chunk BC on small problems with known answers: an open-loop trajectory, positions in synthetic images."""

import numpy as np
import pytest
import torch

from rlhf_policy.actions import ActionSpec
from rlhf_training.chunk_bc import ChunkBCConfig, chunk_dataset, chunk_targets, random_shift, train_chunk_bc
from rlhf_training.models import ChunkPolicy
from rlhf_training.trainer import seed_everything

torch.set_num_threads(1)
QUIET = {'progress': False, 'log_every': 50, 'eval_every': 10_000, 'checkpoint_every': 10_000, 'device': 'cpu',
         'resume': False}


DELTA = ActionSpec.for_panda().group_of('delta')   # 7 arm joints relative, the gripper absolute


def test_chunk_targets_are_relative_to_the_measured_arm_and_hold_at_the_end():
    commands = np.arange(4 * 8, dtype=float).reshape(4, 8)
    measured = np.full((4, 8), 1.0)
    targets = chunk_targets(commands, measured, 3, DELTA)
    assert targets.shape == (4, 3, 8)
    np.testing.assert_allclose(targets[0, :, :7], commands[0:3, :7] - 1.0)
    np.testing.assert_allclose(targets[0, :, 7], commands[0:3, 7])         # gripper stays absolute
    np.testing.assert_allclose(targets[3, :, :7], np.repeat(commands[3:4, :7] - 1.0, 3, axis=0))  # held
    with pytest.raises(ValueError, match='delta mask'):
        chunk_targets(commands, measured[:, :6], 3, DELTA)


def open_loop_episode(n):
    """A known open-loop trajectory: commands are smooth functions of time; the arm lags them by 3 ticks."""
    t = np.arange(n)
    commands = np.zeros((n, 8))
    for j in range(7):
        commands[:, j] = 0.3 * np.sin(2 * np.pi * t / n * (1 + 0.2 * j) + j)
    commands[:, 7] = np.where(t < n // 2, 0.04, 0.0)    # the gripper closes half way
    arm = commands[np.maximum(t - 3, 0), :7]
    phase = t / n
    features = np.stack([phase, np.sin(2 * np.pi * phase), np.cos(2 * np.pi * phase)], axis=1)
    return np.concatenate([features, arm], axis=1).astype(np.float32), commands, arm


def test_chunk_bc_recovers_an_open_loop_trajectory(tmp_path):
    seed_everything(0)
    obs, commands, arm = open_loop_episode(200)
    horizon = 6
    measured = np.concatenate([arm, commands[:, 7:]], axis=1)
    data = chunk_dataset({'proprio': obs}, chunk_targets(commands, measured, horizon, DELTA))
    policy = ChunkPolicy({'proprio': (obs.shape[1],)}, horizon=horizon, hidden_dims=(128, 128),
                         proprio_feature_dim=64)
    config = ChunkBCConfig(steps=1500, batch_size=64, lr=3e-3, out_dir=str(tmp_path), **QUIET)
    with torch.no_grad():
        before = policy({'proprio': torch.from_numpy(obs)}).numpy()
    train_chunk_bc(policy, data, config)
    with torch.no_grad():
        chunks = policy({'proprio': torch.from_numpy(obs)}).numpy()
    # row k of the chunk at tick t, added to the arm measured at t, is the command of tick t + k
    planned = chunks[:-horizon, :, :7] + arm[:-horizon, None, :]
    truth = np.stack([commands[t:t + horizon, :7] for t in range(len(obs) - horizon)])
    error = np.abs(planned - truth).max()
    assert error < 0.03, error
    assert np.abs(before[:-horizon, :, :7] + arm[:-horizon, None] - truth).max() > 0.2
    gripper_closed = chunks[:, 0, 7] < 0.02
    np.testing.assert_array_equal(gripper_closed, commands[:, 7] < 0.02)


def test_observation_history_tells_the_direction_of_motion(tmp_path):
    """The arm swings along one line; where it goes next depends on its direction, which one frame cannot show."""
    from rlhf_policy.preprocess import stack_history
    t = np.arange(400)
    swing = np.sin(2 * np.pi * t / 100)                        # four swings, each position passed both ways
    arm = (0.3 * swing[:, None] * np.linspace(0.5, 1.0, 7)[None]).astype(np.float32)
    commands = np.concatenate([arm[np.minimum(t + 5, len(t) - 1)], np.zeros((len(t), 1))], axis=1)  # 5 ticks ahead
    measured = np.concatenate([arm, np.zeros((len(t), 1))], axis=1)
    targets = chunk_targets(commands, measured, 4, DELTA)
    errors = {}
    for history in (1, 2):
        seed_everything(0)
        obs = stack_history(arm / 0.3, history)
        policy = ChunkPolicy({'proprio': (obs.shape[1],)}, horizon=4, hidden_dims=(128, 128), proprio_feature_dim=64)
        config = ChunkBCConfig(steps=1500, batch_size=64, lr=3e-3, out_dir=str(tmp_path / str(history)), **QUIET)
        train_chunk_bc(policy, chunk_dataset({'proprio': obs}, targets), config)
        with torch.no_grad():
            chunks = policy({'proprio': torch.from_numpy(obs)}).numpy()
        errors[history] = float(np.abs(chunks[10:-10, :, :7] - targets[10:-10, :, :7]).mean())
    assert errors[2] < 0.01, errors                           # two frames show the direction
    assert errors[1] > 5 * errors[2], errors                  # one frame averages both directions


def square_images(n, size, rng):
    """Dark images with one bright 4x4 square at a random place; the answer is the square's centre in [-1, 1]."""
    images = np.zeros((n, 3, size, size), np.float32)
    corners = rng.integers(0, size - 4, size=(n, 2))
    for i, (r, c) in enumerate(corners):
        images[i, :, r:r + 4, c:c + 4] = 1.0
    centres = (corners + 1.5) / (size - 1) * 2 - 1   # (row, col)
    return images, centres[:, ::-1].astype(np.float32)   # (x, y)


@pytest.mark.parametrize('encoder', ['spatial_softmax', 'cnn'])
def test_image_encoder_learns_a_position_from_synthetic_images(tmp_path, encoder):
    rng = np.random.default_rng(0)
    seed_everything(0)
    images, centres = square_images(1500, 24, rng)
    test_images, test_centres = square_images(200, 24, rng)
    targets = np.zeros((len(images), 1, 8), np.float32)
    targets[:, 0, :2] = centres
    data = chunk_dataset({'cam': images, 'proprio': np.zeros((len(images), 1), np.float32)}, targets)
    policy = ChunkPolicy({'cam': (3, 24, 24), 'proprio': (1,)}, horizon=1, hidden_dims=(64,), encoder=encoder,
                         image_feature_dim=32, proprio_feature_dim=8)
    config = ChunkBCConfig(steps=600, batch_size=32, lr=2e-3, shift_pad=0, out_dir=str(tmp_path), **QUIET)
    train_chunk_bc(policy, data, config)
    with torch.no_grad():
        pred = policy({'cam': torch.from_numpy(test_images), 'proprio': torch.zeros(200, 1)}).numpy()[:, 0, :2]
    error = np.abs(pred - test_centres).mean()
    assert error < 0.1, (encoder, error)     # 0.1 of the half-width: about one pixel of 24
    assert np.abs(test_centres).mean() > 0.4  # guessing the middle would be off by this much


def test_random_shift_moves_whole_images_by_at_most_pad():
    image = torch.zeros(1, 1, 9, 9)
    image[0, 0, 4, 4] = 1.0
    shifted = random_shift(image.repeat(64, 1, 1, 1), pad=2, generator=torch.Generator().manual_seed(0))
    assert shifted.shape == (64, 1, 9, 9)
    peaks = [divmod(int(s.argmax()), 9) for s in shifted[:, 0]]
    assert all(abs(r - 4) <= 2 and abs(c - 4) <= 2 for r, c in peaks)
    assert len(set(peaks)) > 10     # offsets differ between samples
    assert torch.allclose(shifted.sum((1, 2, 3)), torch.ones(64))   # the square is never cut off here
    assert random_shift(image, pad=0) is image


def test_fine_tuning_keeps_the_trained_target_statistics_unless_asked(tmp_path):
    """A fine-tuning keeps a trained policy's chunks until it has taken a step (here at a learning rate of 1e-12).

    New statistics would re-scale every output.
    """
    import copy
    seed_everything(0)
    obs, commands, arm = open_loop_episode(80)
    targets = chunk_targets(commands, np.concatenate([arm, commands[:, 7:]], axis=1), 4, DELTA)
    policy = ChunkPolicy({'proprio': (obs.shape[1],)}, horizon=4, hidden_dims=(32,), proprio_feature_dim=16)
    train_chunk_bc(policy, chunk_dataset({'proprio': obs}, targets),
                   ChunkBCConfig(steps=30, batch_size=32, lr=1e-3, out_dir=str(tmp_path / 'bc'), **QUIET))
    inputs = {'proprio': torch.from_numpy(obs)}
    with torch.no_grad():
        before = policy(inputs)
    late = chunk_dataset({'proprio': obs[50:]}, targets[50:])     # the last ticks: other target statistics
    moved = {}
    for fit in (False, True):
        tuned = copy.deepcopy(policy)
        train_chunk_bc(tuned, late, ChunkBCConfig(steps=1, batch_size=8, lr=1e-12, out_dir=str(tmp_path / str(fit)),
                                                  **QUIET), fit_statistics=fit)
        with torch.no_grad():
            moved[fit] = float((tuned(inputs) - before).abs().max())
    assert moved[False] < 1e-6, moved
    assert moved[True] > 1e-3, moved


def test_interrupted_chunk_bc_resumes_on_the_same_learning_rate_schedule(tmp_path):
    """A chunk BC run resumed from its step-4 checkpoint ends where an uninterrupted one does.

    The cosine schedule is a function of the step; a scheduler restarted at the resume would train steps 5-10 at
    other rates.
    """
    from test_algorithms import InterruptingDataset
    obs, commands, arm = open_loop_episode(60)
    targets = chunk_targets(commands, np.concatenate([arm, commands[:, 7:]], axis=1), 3, DELTA)
    base = chunk_dataset({'proprio': obs}, targets)

    def run(out_dir, data):
        seed_everything(3)
        policy = ChunkPolicy({'proprio': (obs.shape[1],)}, horizon=3, hidden_dims=(16,), proprio_feature_dim=8)
        train_chunk_bc(policy, data, ChunkBCConfig(steps=10, batch_size=16, lr=1e-2, out_dir=str(out_dir),
                                                   **{**QUIET, 'resume': True, 'checkpoint_every': 4}))
        return policy

    straight = run(tmp_path / 'a', base)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / 'b', InterruptingDataset(base.observations, base.actions, at=7))   # during step 7
    resumed = run(tmp_path / 'b', base)
    for (name, p), q in zip(straight.named_parameters(), resumed.parameters()):
        assert torch.equal(p, q), name


def test_chunk_bc_keeps_no_reference_to_its_dataset(tmp_path):
    """Once train_chunk_bc returns, dropping the dataset (GBs of camera frames) frees it at once.

    A reference cycle through the trainer would keep it until the cycle collector runs.
    """
    import gc
    import weakref
    obs, commands, arm = open_loop_episode(40)
    data = chunk_dataset({'proprio': obs}, chunk_targets(commands, np.concatenate([arm, commands[:, 7:]], axis=1),
                                                         3, DELTA))
    policy = ChunkPolicy({'proprio': (obs.shape[1],)}, horizon=3, hidden_dims=(8,), proprio_feature_dim=4)
    alive = weakref.ref(data)
    gc.disable()
    try:
        train_chunk_bc(policy, data, ChunkBCConfig(steps=3, batch_size=8, out_dir=str(tmp_path), **QUIET))
        del data
        assert alive() is None
    finally:
        gc.enable()
