# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Control-loop benchmark of the policy node: simulator node + policy node over DDS, default-size model.

    python bench/policy_loop_bench.py                 # 10,000 control ticks (about 5.5 minutes at 30 Hz)
    python bench/policy_loop_bench.py --ticks 3000

The model is the training package's default image policy, untrained, exported with rlhf_training.export:
``--policy chunk`` (default) the ChunkPolicy of rlhf_training.chunk_bc (two 64x64 RGB cameras, the chunk BC
config's image encoder (spatial-softmax keypoints), 512x512x512 MLP, horizon 20, temporal ensembling: one
inference every tick), ``--policy gaussian`` the single-step GaussianPolicy (256x256 MLP); without rlhf_training
a comparable CNN built by
rlhf_policy.onnx_models is used (the table says which). Both nodes start from
rlhf_policy.graph.deploy_graph with the same --ros-args as the deploy launcher. The policy node writes
every tick's timing to a CSV at shutdown; the table summarises the measured ticks (after a warm-up).

Definitions: tick-to-tick jitter = |period - 1/rate|; observation-to-command latency = from the tick
reading the latest observations to the command being published (preprocessing of the proprio vector,
ONNX Runtime, action conversion, limiter, publish; images are preprocessed when they arrive);
observation age = time since the oldest observation used by a tick arrived; tick CPU time = the
control thread's CPU time in a tick (its own work, without preemption); missed ticks = control slots
skipped (a period of ~k target periods skips k - 1). The command inter-arrival jitter is measured
by this script's own subscriber (it includes DDS delivery).
"""

import argparse
from pathlib import Path
import sys
import tempfile
import threading
import time

import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from std_msgs.msg import Float64MultiArray

from rlhf_common.graph import executable_path
from rlhf_common.supervisor import ros_arguments, stop_processes, write_params_file
from rlhf_msgs.msg import PolicyStatus
from rlhf_policy.chunking import ChunkExecution
from rlhf_policy.contract import ActionSpec, CameraSpec, ObservationSpec, PolicyContract
from rlhf_policy.graph import deploy_graph
from rlhf_policy.onnx_models import build_policy_model
from rlhf_policy.rate_stats import missed_ticks

JOINTS = [f'panda_joint{i}' for i in range(1, 8)] + ['panda_finger_joint1', 'panda_finger_joint2']
CAMERAS = ('scene_camera', 'wrist_camera')
WARMUP_TICKS = 90  # ticks after the first command before measuring (ONNX Runtime and caches warm up)


def default_model(out_dir, kind='chunk'):
    """Write contract.yaml + policy.onnx of a default-size policy; returns (contract path, description)."""
    obs = ObservationSpec([CameraSpec(c, 64, 64) for c in CAMERAS], JOINTS, proprio_std=np.full(18, 0.5))
    contract = PolicyContract(obs, ActionSpec.for_panda(0.05), rate_hz=30.0)
    try:
        import torch

        from rlhf_training.chunk_bc import ChunkBCConfig
        from rlhf_training.export import export_policy
        from rlhf_training.models import ChunkPolicy, GaussianPolicy
        torch.manual_seed(0)
        if kind == 'chunk':
            config = ChunkBCConfig()
            contract.chunk = ChunkExecution(horizon=config.horizon)
            policy = ChunkPolicy(contract.observation, horizon=config.horizon, hidden_dims=config.hidden_dims,
                                 encoder=config.encoder)
            stats = torch.zeros(config.horizon, 8), torch.full((config.horizon, 8), 0.01)
            policy.set_action_statistics(*stats)   # small offsets around the measured pose
        else:
            policy = GaussianPolicy(contract.observation)  # the training defaults: hidden (256, 256), cnn encoder
        export_policy(policy, contract, out_dir)
        params = sum(p.numel() for p in policy.parameters())
        return Path(out_dir) / 'contract.yaml', (f'rlhf_training {type(policy).__name__} (default config), '
                                                 f'{params:,} parameters')
    except ImportError as err:
        build_policy_model(contract, Path(out_dir) / 'policy.onnx', hidden=256, conv_channels=(32, 64, 64, 64))
        return contract.save(Path(out_dir) / 'contract.yaml'), f'rlhf_policy.onnx_models CNN ({err})'


class Monitor:
    """Counts commands (arrival times) and keeps the latest /policy/status."""

    def __init__(self):
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node('policy_loop_bench', context=self.context)
        self.arrivals = []
        self.status = None
        self.node.create_subscription(Float64MultiArray, '/arm_controller/commands',
                                      lambda msg: self.arrivals.append(time.monotonic()), 100)
        self.node.create_subscription(PolicyStatus, '/policy/status', self._on_status, 10)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def _on_status(self, msg):
        self.status = msg

    def close(self):
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def start_graph(specs, tmp, log_path):
    """One process per NodeSpec with the --ros-args ros2 launch would pass (as rlhf_teleop.graph.run_graph)."""
    import subprocess
    log = open(log_path, 'w')
    procs = {}
    for spec in specs:
        cmd = [str(executable_path(spec))] + ros_arguments(spec, write_params_file(spec, tmp))
        procs[spec.name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return procs, log


def pct(values, q):
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(np.percentile(values, q)) if values.size else float('nan')


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--ticks', type=int, default=10000, help='measured control ticks (default 10000)')
    ap.add_argument('--task', default='pick_place')
    ap.add_argument('--policy', default='chunk', choices=['chunk', 'gaussian'], help='default image policy kind')
    ap.add_argument('--keep', default='', help='folder to keep the model, stats CSV and node log in')
    ap.add_argument('--realtime-priority', type=int, default=20,
                    help='policy parameter realtime_priority (SCHED_FIFO of the control thread; 0 = normal scheduling)')
    ns = ap.parse_args(argv)
    tmp_ctx = tempfile.TemporaryDirectory(prefix='policy_bench_')
    work = Path(ns.keep or tmp_ctx.name)
    work.mkdir(parents=True, exist_ok=True)
    contract_path, model_desc = default_model(work / 'model', ns.policy)
    stats_path = work / 'ticks.csv'
    specs = deploy_graph({'contract': str(contract_path), 'sim': 'true', 'task': ns.task,
                          'realtime_priority': str(ns.realtime_priority), 'execution_provider': 'auto',
                          'stats_file': str(stats_path)})
    print(f'model: {model_desc}\nnodes: {", ".join(s.name for s in specs)}; measuring {ns.ticks} ticks '
          f'after {WARMUP_TICKS} warm-up ticks', flush=True)
    monitor = Monitor()
    procs, log = start_graph(specs, str(work), work / 'nodes.log')
    started = time.monotonic()
    target = None
    try:
        from tqdm import tqdm
        bar = tqdm(total=ns.ticks, unit='tick', desc='control ticks')
        first_cmd_tick = None
        while True:
            time.sleep(0.5)
            for name, proc in procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f'node {name} exited with code {proc.returncode}; see {work / "nodes.log"}')
            s = monitor.status
            if s is None or not monitor.arrivals:
                if time.monotonic() - started > 120:
                    raise RuntimeError(f'no policy commands after 120 s; see {work / "nodes.log"}')
                continue
            if first_cmd_tick is None:
                first_cmd_tick = int(s.ticks)
                target = first_cmd_tick + WARMUP_TICKS + ns.ticks
            done = max(0, int(s.ticks) - first_cmd_tick - WARMUP_TICKS)
            bar.n = min(done, ns.ticks)
            bar.refresh()
            if int(s.ticks) >= target + 15:  # status lags by up to one status period
                break
        bar.close()
        provider = monitor.status.execution_provider
    finally:
        codes = stop_processes(procs, 15.0, 5.0)
        log.close()
        monitor.close()
    if not stats_path.is_file():
        print(f'policy node wrote no stats ({codes}); see {work / "nodes.log"}', file=sys.stderr)
        return 1
    rows = np.loadtxt(stats_path, delimiter=',', skiprows=1, ndmin=2)
    commanded = np.flatnonzero(np.isfinite(rows[:, 2]))
    first = commanded[0] + WARMUP_TICKS
    rows = rows[first:first + ns.ticks]
    period = 1 / 30.0
    starts = rows[:, 0]
    periods = np.diff(starts)
    jitter = np.abs(periods - period) * 1e3
    span = starts[-1] - starts[0]
    arrivals = np.array(monitor.arrivals)
    arrivals = arrivals[(arrivals >= starts[0]) & (arrivals <= starts[-1])]
    ext_jitter = np.abs(np.diff(arrivals) - period) * 1e3
    slow = rows[:-1, 4] > period * 1e3  # the node's own CPU work of the previous tick exceeded a period
    missed_due_to_work = missed_ticks(periods[slow], period) if np.any(slow) else 0
    table = [
        ('measured ticks', f'{len(rows)}', ''),
        ('achieved rate', f'{(len(rows) - 1) / span:.3f} Hz', 'goal 30 +- 0.5'),
        ('tick-to-tick jitter p50 / p99 / max', f'{pct(jitter, 50):.2f} / {pct(jitter, 99):.2f} / '
                                                f'{np.max(jitter):.2f} ms', ''),
        ('obs-to-command latency p50 / p99', f'{pct(rows[:, 2], 50):.2f} / {pct(rows[:, 2], 99):.2f} ms',
         'goal p99 < 5 ms'),
        ('inference latency mean / p50 / p99', f'{np.nanmean(rows[:, 1]):.2f} / {pct(rows[:, 1], 50):.2f} / '
                                               f'{pct(rows[:, 1], 99):.2f} ms', provider),
        ('observation age p50 / p99', f'{pct(rows[:, 3], 50):.1f} / {pct(rows[:, 3], 99):.1f} ms', ''),
        ('tick CPU time p50 / p99 / max', f'{pct(rows[:, 4], 50):.2f} / {pct(rows[:, 4], 99):.2f} / '
                                          f'{np.nanmax(rows[:, 4]):.2f} ms', 'the node\'s own work per tick'),
        ('missed ticks', f'{missed_ticks(periods, period)}', 'goal 0'),
        ('  of which after a tick whose own work > 1 period', f'{missed_due_to_work}', 'inference/tick cost'),
        ('ticks in HOLD (stale observation)', f'{int(np.sum(~np.isfinite(rows[:, 1])))}', ''),
        ('command inter-arrival jitter p99 (subscriber)', f'{pct(ext_jitter, 99):.2f} ms', 'includes DDS'),
    ]
    wall = time.monotonic() - started
    rt = f'SCHED_FIFO {ns.realtime_priority}' if ns.realtime_priority > 0 else 'normal scheduling'
    print(f'\npolicy loop: {model_desc}; ONNX Runtime {provider}; {rt}; task {ns.task}; wall {wall:.0f} s')
    width = max(len(r[0]) for r in table)
    print(f'| {"metric":<{width}} | {"value":<28} | note |')
    print(f'|{"-" * (width + 2)}|{"-" * 30}|------|')
    for name, value, note in table:
        print(f'| {name:<{width}} | {value:<28} | {note} |')
    tmp_ctx.cleanup()
    return 0


if __name__ == '__main__':
    sys.exit(main())
