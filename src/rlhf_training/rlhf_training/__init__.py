# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Training: behaviour cloning, Bradley-Terry reward models, SAC (DroQ), RL on a learned reward, CPL, ONNX export."""

import os

# OpenMP threads that spin while they wait take the CPU from each other, and from every other process, on a busy
# machine: a BC step ran 56x slower with torch's two threads at load 14 than with one. Waiting passively costs
# nothing on an idle machine. (Set before torch is first imported, which is after this package in every entry.)
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
