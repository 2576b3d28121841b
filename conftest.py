# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Pytest set-up shared by the tests of every package (pytest loads it from the workspace root)."""

import signal

# A test run started with SIGINT ignored (a background job of a non-interactive shell, nohup) passes that on
# to every process it starts, and graphs that tests stop with SIGINT, as Ctrl-C does, would never stop.
# With a handler installed here, the processes the tests start get SIGINT's default disposition again.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
