"""Training: every model of the library trains through one scaffold (``scaffold.train_model``).

- ``arguments``: `SignLLMTrainingArguments` (losses, PLC, evaluation by generation) and the run's data, model and
  prompt-stage arguments;
- ``trainer`` / ``losses`` / ``plc``: `SignLLMTrainer`, the RL loss, the Priority Learning Channel sampler;
- ``callbacks``: the time budget (``StopAfter``);
- ``checkpoints``: which checkpoint a run resumes from (the newest complete one);
- ``scaffold``: YAML + flags, the Trainer, the budget, evaluation and saving, the end of a distributed run, the same
  for every model;
- ``run``: the signer (``signllm train``); ``prompt_stage`` and ``back_translator``: the other models' own parts.

Imports go one way: training uses the models, data, metrics and evaluation; nothing below imports training.
"""

from .arguments import DataArguments, ModelArguments, PromptStageArguments, SignLLMTrainingArguments
from .callbacks import StopAfter
from .run import build_model, main, train
from .trainer import SignLLMTrainer

__all__ = [
    "DataArguments",
    "ModelArguments",
    "PromptStageArguments",
    "SignLLMTrainer",
    "SignLLMTrainingArguments",
    "StopAfter",
    "build_model",
    "main",
    "train",
]
