# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Training reads episodes imported from a LeRobot dataset exactly like recorded ones."""

from pathlib import Path

from conftest import JOINTS
import numpy as np
import torch

from rlhf_recorder.lerobot_export import export_lerobot
from rlhf_recorder.lerobot_import import import_lerobot
from rlhf_training.config import BCConfig
from rlhf_training.data import load_transitions
from rlhf_training.train import main as train_main

torch.set_num_threads(1)
CONFIG = Path(__file__).resolve().parents[1] / 'config' / 'bc.yaml'


def test_bc_trains_on_episodes_imported_from_a_lerobot_dataset(episodes, tmp_path):
    paths = [episodes.write('ep0', q0_offset=0.0, delta=0.02, size=(16, 16)),
             episodes.write('ep1', q0_offset=0.2, delta=-0.01, gripper=0.0, size=(16, 16))]
    dataset, imported = tmp_path / 'lerobot', tmp_path / 'imported'
    export_lerobot(paths, dataset, fps=5, progress=False)          # float32, as LeRobot policies expect
    import_lerobot(dataset, imported, progress=False)
    settings = dict(cameras=['scene_camera'], image_width=16, image_height=16, rate_hz=5.0, val_fraction=0.0,
                    progress=False)
    recorded, _, _ = load_transitions(BCConfig(data_dir=str(episodes.data_dir), **settings), progress=False)
    again, _, contract = load_transitions(BCConfig(data_dir=str(imported), **settings), progress=False)
    assert len(again) == len(recorded) == 20                           # 2 episodes x 2 s x 5 Hz
    np.testing.assert_allclose(again.actions, recorded.actions, atol=1e-5)   # float32 rounding of the export
    np.testing.assert_allclose(again.actions[again.extra['episode'] == 0][:, :7], 0.4, atol=1e-5)
    np.testing.assert_allclose(again.observations['proprio'], recorded.observations['proprio'], atol=1e-4)
    assert again.observations['scene_camera'].shape == (20, 3, 16, 16)
    assert contract.observation.joint_names == JOINTS
    out = tmp_path / 'bc'
    assert train_main(['--config', str(CONFIG), f'data_dir={imported}', 'cameras=[scene_camera]', 'image_width=16',
                       'image_height=16', 'hidden_dims=[16]', 'image_feature_dim=8', 'proprio_feature_dim=8',
                       'steps=4', 'batch_size=8', 'rate_hz=5', 'val_fraction=0', 'progress=false', 'log_every=1',
                       'eval_every=2', 'checkpoint_every=2', 'device=cpu', f'out_dir={out}']) == 0
    assert (out / 'export' / 'policy.onnx').is_file()
