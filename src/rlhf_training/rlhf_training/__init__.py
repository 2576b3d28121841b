# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""BC, Bradley-Terry reward models, SAC (DroQ), RL on learned rewards, CPL; ONNX export."""
