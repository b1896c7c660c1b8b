"""Training: optimiser and schedule, the MindSpore ``Model`` with callbacks, checkpoints, evaluation."""
