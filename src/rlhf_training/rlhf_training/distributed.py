# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Process-group set-up for torchrun / DDP; the same code runs as a single process."""

from dataclasses import dataclass
import os

import torch
import torch.distributed as dist


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str = 'auto') -> DistInfo:
    """Join the process group torchrun describes (WORLD_SIZE > 1), or return a single-process DistInfo.

    Backend: NCCL when the processes use CUDA, gloo otherwise (CPU, and the tests).
    """
    world = int(os.environ.get('WORLD_SIZE', '1'))
    if world <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ['RANK']), world, int(os.environ.get('LOCAL_RANK', '0')))
    if not dist.is_initialized():
        use_cuda = torch.cuda.is_available() and device != 'cpu'
        dist.init_process_group('nccl' if use_cuda else 'gloo', rank=info.rank, world_size=world)
    return info


def current_info() -> DistInfo:
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get('LOCAL_RANK', '0')))
    return DistInfo()


def resolve_device(name: str, info: DistInfo | None = None) -> torch.device:
    """'auto' -> this process's GPU when CUDA is available (cuda:LOCAL_RANK), else CPU."""
    info = info or current_info()
    if name == 'auto':
        name = f'cuda:{info.local_rank}' if torch.cuda.is_available() else 'cpu'
    elif name == 'cuda' and info.enabled:
        name = f'cuda:{info.local_rank}'
    device = torch.device(name)
    if device.type == 'cuda':
        torch.cuda.set_device(device)
    return device


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
