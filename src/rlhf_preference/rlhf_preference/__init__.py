# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Preference pairs, the Flask annotation page, SQLite label store and preference export."""
