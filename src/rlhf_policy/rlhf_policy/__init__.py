# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Policy contract, shared observation preprocessing, ONNX Runtime policy node, evaluation."""
