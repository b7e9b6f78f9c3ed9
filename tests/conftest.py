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
    from signllm_hf.data.corpora.fingerspelling import default_lexicon_dir

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


@pytest.fixture(scope="session")
def how2sign_dir() -> Path:
    """Three How2Sign clips as OpenPose JSON, with clips.tsv (tests/fixtures)."""
    return FIXTURES / "how2sign_openpose"


def known_motion(num_clips: int = 4, seed: int = 0) -> list[np.ndarray]:
    """Known 3D motions on a rigid skeleton (the synthetic corpus's), (T, 50, 3) each."""
    from signllm_hf.data.corpora.synthetic import SyntheticCorpusConfig, generate_synthetic_splits

    config = SyntheticCorpusConfig(
        languages=("ase",),
        vocab_size=10,
        train_sentences=max(num_clips, 8),
        dev_sentences=1,
        test_sentences=1,
        seed=seed,
    )
    rows, _ = generate_synthetic_splits(config)
    return [row["pose"] for row in rows["train"][:num_clips]]


def write_openpose_clip(folder: Path, keypoints: np.ndarray, body_values: int = 75, start: int = 0) -> Path:
    """Write (T, 50, 3) x, y, confidence keypoints as an OpenPose JSON clip folder (BODY_25 or COCO-18 body)."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    for t, frame in enumerate(keypoints):
        body = np.zeros((body_values // 3, 3))
        body[:8] = frame[:8]
        person = {
            "pose_keypoints_2d": body.reshape(-1).tolist(),
            "hand_left_keypoints_2d": frame[8:29].reshape(-1).tolist(),
            "hand_right_keypoints_2d": frame[29:50].reshape(-1).tolist(),
        }
        name = f"{folder.name}_{start + t:012d}_keypoints.json"
        (folder / name).write_text(json.dumps({"version": 1.3, "people": [person]}), encoding="utf-8")
    return folder


def projected(pose: np.ndarray, pixels: float = 200.0, confidence: float = 0.9) -> np.ndarray:
    """Orthographic image keypoints of a 3D pose in shoulder units: (T, 50, 3) x, y (pixels), confidence."""
    xy = pose[..., :2] * pixels + np.array([640.0, 300.0])
    return np.concatenate([xy, np.full(pose.shape[:2] + (1,), confidence)], axis=-1)


TINY_OPTIONS = {
    "vocab_size": 320,
    "d_model": 32,
    "ffn_dim": 64,
    "attention_heads": 2,
    "encoder_layers": 1,
    "decoder_layers": 2,
    "dropout": 0.0,
    "languages": ["ase", "gsg"],
    "max_frames": 24,
}


def tiny_config(**overrides):
    """A SignLLM config small enough for unit tests (two languages, width 32)."""
    from signllm_hf import SignLLMConfig

    return SignLLMConfig(**{**TINY_OPTIONS, **overrides})


def text_tokenizer(texts=("hello world", "the sky is blue", "guten morgen", "am meer wird es freundlich")):
    from signllm_hf.tokenization_signllm import train_text_tokenizer

    return train_text_tokenizer(list(texts), vocab_size=300)
