"""A MindSpore callback that ends a training run after a number of steps, for interruption tests.

Passed through the trainer's public ``callbacks=`` argument: the library has no test hooks.
"""
from __future__ import annotations

from mindspore.train import Callback


class StopAfterSteps(Callback):
    """Request a stop (``run_context.request_stop()``, as MindSpore's own early stopping does) once
    ``steps`` training steps ran under this callback, counted across ``Model.train`` calls."""

    def __init__(self, steps: int):
        super().__init__()
        self.steps = steps
        self.steps_run = 0

    def on_train_step_end(self, run_context):
        self.steps_run += 1
        if self.steps_run >= self.steps:
            run_context.request_stop()
