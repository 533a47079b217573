"""The shared trainer: one loop, one evaluator, the same settings for every trial of a study."""

from nasplat.train.batches import TensorBatches
from nasplat.train.cost import count_flops, count_params, measure_latency
from nasplat.train.evaluate import evaluate_split, odin_scores
from nasplat.train.evaluator import TrainingEvaluator, open_dataset
from nasplat.train.loop import TrainResult, fit
from nasplat.train.progress import RichTrainingProgress, SilentProgress, TrainingProgress
from nasplat.train.seeding import seed_everything

__all__ = ["RichTrainingProgress", "SilentProgress", "TensorBatches", "TrainResult",
           "TrainingEvaluator", "TrainingProgress", "count_flops", "count_params",
           "evaluate_split", "fit", "measure_latency", "odin_scores", "open_dataset",
           "seed_everything"]
