# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Metric logging: long-format CSV (step, metric, value), TensorBoard, and Weights & Biases when asked."""

import csv
from pathlib import Path
import warnings


class MetricLogger:
    """Write scalar metrics of the main process; a resumed run drops rows newer than its checkpoint."""

    def __init__(self, out_dir: str | Path, enabled: bool = True, resume_step: int = 0,
                 use_wandb: bool = False, config: dict | None = None, tensorboard: bool = True):
        self.enabled = enabled
        self.csv_path = Path(out_dir) / 'metrics.csv'
        self._tb = None
        self._wandb = None
        self.last: dict[str, float] = {}
        if not enabled:
            return
        self.csv_path.parent.mkdir(parents=True, exist_ok=True)
        rows = []
        if resume_step > 0 and self.csv_path.exists():
            with open(self.csv_path, newline='') as f:
                rows = [r for r in csv.reader(f)][1:]
            rows = [r for r in rows if int(r[0]) <= resume_step]
        with open(self.csv_path, 'w', newline='') as f:
            writer = csv.writer(f)
            writer.writerow(['step', 'metric', 'value'])
            writer.writerows(rows)
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
                self._tb = SummaryWriter(str(Path(out_dir) / 'tensorboard'), purge_step=resume_step or None)
            except ImportError:
                warnings.warn('tensorboard is not installed: logging to CSV only', stacklevel=2)
        if use_wandb:
            try:
                import wandb
                self._wandb = wandb.init(project='rlhf_training', config=config or {}, dir=str(out_dir),
                                         resume='allow')
            except ImportError:
                warnings.warn('wandb: true but wandb is not installed: logging to CSV and TensorBoard', stacklevel=2)

    def log(self, step: int, metrics: dict[str, float]) -> None:
        metrics = {k: float(v) for k, v in metrics.items()}
        self.last.update(metrics)
        if not self.enabled or not metrics:
            return
        with open(self.csv_path, 'a', newline='') as f:
            csv.writer(f).writerows([step, k, repr(v)] for k, v in metrics.items())
        if self._tb is not None:
            for k, v in metrics.items():
                self._tb.add_scalar(k, v, step)
        if self._wandb is not None:
            self._wandb.log(metrics, step=step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()


def read_metrics(csv_path: str | Path) -> dict[str, list[tuple[int, float]]]:
    """metrics.csv -> {metric: [(step, value), ...]}."""
    out: dict[str, list[tuple[int, float]]] = {}
    with open(csv_path, newline='') as f:
        for row in list(csv.reader(f))[1:]:
            out.setdefault(row[1], []).append((int(row[0]), float(row[2])))
    return out
