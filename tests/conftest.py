"""Shared test fixtures: fixture paths and small factories (the offline environment is set in ../conftest.py)."""

from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def phoenix_dir() -> Path:
    """Five train + five dev PHOENIX14T clips in the Progressive Transformers format (tests/fixtures)."""
    return FIXTURES / "phoenix14t_sample"


@pytest.fixture(scope="session")
def lexicon_dir() -> Path:
    """The spoken-to-signed fingerspelling lexicon (the `lexicon` extra, part of `test`)."""
    pytest.importorskip(
        "spoken_to_signed", reason="the fingerspelling lexicon needs `pip install signllm-hf[lexicon]`"
    )
    from signllm_hf.data.fingerspelling import default_lexicon_dir

    return default_lexicon_dir()


def random_pose(num_frames: int, seed: int = 0) -> np.ndarray:
    """A smooth random (T, 50, 3) float32 sequence."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(1, 50, 3))
    drift = np.cumsum(rng.normal(scale=0.05, size=(num_frames, 50, 3)), axis=0)
    return (base + drift).astype(np.float32)


def pose_rows(lengths, language="ase", seed=0):
    """Canonical dataset rows with random poses of the given lengths."""
    return [
        {
            "id": f"clip-{i}",
            "language": language,
            "text": f"sentence number {i}",
            "gloss": f"GLOSS{i} NUMBER",
            "pose": random_pose(n, seed + i),
            "confidence": np.ones((n, 50), np.float32),
            "fps": 25.0,
        }
        for i, n in enumerate(lengths)
    ]
