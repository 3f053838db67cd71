"""Profiles: named base configurations that fix a run's scale. Data, not code."""
from __future__ import annotations

from typing import Any

from .config import Config, ConfigError

# Each profile is a set of field overrides on top of the dataclass defaults (the paper's recipe).
PROFILES: dict[str, dict[str, Any]] = {
    # The paper's recipe (docs/model.md): bert-base-uncased on the full wiki1m, batch 64, lr 3e-5, validate every 100.
    "paper": {
        "encoder": "bert-base-uncased",
        "train_file": "wiki/wiki1m_for_simcse.txt",
        "train_sentences": 0,
        "batch_size": 64,
        "learning_rate": 3e-5,
        "eval_steps": 100,
    },
    # The offline all-MiniLM-L6-v2 on the first 6,400 wiki1m sentences (100 steps of 64): about
    # ten minutes on 2 cores, where a step costs ~4.2 s (the encoder passes run at matmul peak).
    "cpu": {
        "encoder": "all-MiniLM-L6-v2",
        "train_file": "wiki/wiki1m_for_simcse.txt",
        "train_sentences": 6400,
        "batch_size": 64,
        "learning_rate": 3e-5,
        "eval_steps": 25,
    },
    # A tiny random BERT and a few hundred sentences: seconds, for tests and CI.
    "smoke": {
        "encoder": "tiny-random-bert",
        "train_file": "wiki/wiki1m_for_simcse.txt",
        "train_sentences": 256,
        "batch_size": 16,
        "learning_rate": 1e-4,
        "eval_steps": 8,
        "queue_size": 64,
        "ema_total_steps": 0,
        "eval_last": False,  # seconds a run: the last model's evaluation would double CI's sweep
        "analysis_splits": "dev",  # the end-of-run analysis on STS-B dev alone: ~3 s a run less
    },
}


def profile_names() -> list[str]:
    return sorted(PROFILES)


def load_profile(name: str) -> Config:
    """The base configuration of profile ``name``."""
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}: profile must be one of {', '.join(profile_names())}")
    return Config(profile=name).override(PROFILES[name])
