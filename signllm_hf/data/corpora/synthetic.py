"""A seeded compositional corpus: per language a gloss vocabulary, each gloss a distinct motion primitive.

Each gloss is a (body location, movement, handshape) triple, drawn without replacement, so no two glosses of a
language look alike: the dominant wrist starts at a location (forehead, chin, chest, neutral space, ...), follows a
path (hold, line, circle, arc, taps, zigzag) while the handshape changes between two prototypes; some glosses are
two-handed (the other hand mirrors). Arms come from two-bone inverse kinematics, hands from a small forward model
of 21 points, so bone lengths stay constant. Sentences are gloss sequences of a small grammar joined by eased
transitions, starting and ending at rest; the text is the same sentence in a spoken-language word order (articles
added, adjectives moved), so text -> pose needs reordering.

The dev and test splits hold gloss bigrams never seen in training: every dev/test sentence contains at least one
held-out ordered pair of glosses, and no training sentence contains any. A model that memorises whole sequences
fails there; one that composes glosses does not.

Example:
    >>> from signllm_hf.data.corpora.synthetic import SyntheticCorpusConfig, generate_synthetic_splits
    >>> splits, info = generate_synthetic_splits(SyntheticCorpusConfig(languages=("ase",), vocab_size=12,
    ...     train_sentences=30, dev_sentences=5, test_sentences=5))
    >>> {name: len(rows) for name, rows in splits.items()}
    {'train': 30, 'dev': 5, 'test': 5}
    >>> splits["train"][0]["pose"].shape[1:]
    (50, 3)
"""

from __future__ import annotations

import itertools
import os
import random
import time
import zlib
from collections import defaultdict
from dataclasses import asdict, dataclass, field

import numpy as np
from tqdm.auto import tqdm

from ..dataset import pose_dataset_from_rows, read_stats, save_pose_dataset
from ..languages import PAPER_LANGUAGES, canonical_language, get_language
from ..motion import join_with_transitions, transition
from ..prompts import make_prompt
from ..skeleton import LEFT_HAND, NUM_JOINTS, RIGHT_HAND

# Body in shoulder-width units (neck origin, x right, y down, z towards the viewer negative): signer's right = -x.
NOSE, NECK = np.array([0.0, -0.62, -0.05]), np.zeros(3)
RIGHT_SHOULDER, LEFT_SHOULDER = np.array([-0.5, 0.02, 0.0]), np.array([0.5, 0.02, 0.0])
UPPER_ARM, FOREARM, HAND_OFFSET = 0.8, 0.7, 0.03
REST_WRIST = np.array([-0.62, 1.38, -0.12])  # right hand at rest; the left one mirrors it

LOCATIONS = {  # dominant (right) wrist start positions
    "forehead": (-0.12, -0.78, -0.32),
    "cheek": (-0.3, -0.52, -0.3),
    "chin": (-0.08, -0.38, -0.36),
    "opposite_shoulder": (0.3, 0.08, -0.3),
    "chest": (-0.12, 0.38, -0.38),
    "stomach": (-0.1, 0.8, -0.35),
    "neutral_side": (-0.55, 0.38, -0.5),
    "neutral_center": (-0.18, 0.22, -0.6),
}
MOVEMENTS = ("hold", "line", "circle", "arc", "taps", "zigzag")
HANDSHAPES = {  # curl of thumb, index, middle, ring, pinky in [0, 1], then finger spread in [0, 1]
    "flat": (0.1, 0.0, 0.0, 0.0, 0.0, 0.1),
    "spread": (0.0, 0.0, 0.0, 0.0, 0.0, 1.0),
    "fist": (0.7, 1.0, 1.0, 1.0, 1.0, 0.0),
    "point": (0.8, 0.0, 1.0, 1.0, 1.0, 0.0),
    "v": (0.8, 0.0, 0.0, 1.0, 1.0, 0.8),
    "y": (0.0, 1.0, 1.0, 1.0, 0.0, 0.6),
    "claw": (0.4, 0.55, 0.55, 0.55, 0.55, 0.7),
    "o": (0.55, 0.6, 0.6, 0.6, 0.6, 0.1),
    "l": (0.0, 0.0, 1.0, 1.0, 1.0, 0.4),
}
REST_HANDSHAPE = (0.3, 0.35, 0.35, 0.4, 0.45, 0.2)


@dataclass
class SyntheticCorpusConfig:
    """Sizes and seed of the synthetic corpus (per language sentence counts)."""

    languages: tuple[str, ...] = PAPER_LANGUAGES
    vocab_size: int = 30
    train_sentences: int = 400
    dev_sentences: int = 50
    test_sentences: int = 50
    gloss_frames: tuple[int, int] = (12, 20)
    transition_frames: int = 5
    rest_frames: int = 6
    fps: float = 25.0
    seed: int = 0
    languages_resolved: tuple[str, ...] = field(init=False, repr=False, default=())

    def __post_init__(self) -> None:
        if not self.languages:
            raise ValueError("`languages` must name at least one language")
        self.languages_resolved = tuple(dict.fromkeys(canonical_language(code) for code in self.languages))
        if not 8 <= self.vocab_size <= len(LOCATIONS) * len(MOVEMENTS) * len(HANDSHAPES):
            raise ValueError(f"`vocab_size` must be between 8 and {len(LOCATIONS) * len(MOVEMENTS) * len(HANDSHAPES)}")
        if min(self.train_sentences, self.dev_sentences, self.test_sentences) < 1:
            raise ValueError("every split needs at least one sentence per language")
        if not 2 <= self.gloss_frames[0] <= self.gloss_frames[1]:
            raise ValueError(f"`gloss_frames` must be (min, max) with 2 <= min <= max, got {self.gloss_frames}")


@dataclass(frozen=True)
class Gloss:
    """One sign of a synthetic language: its label, spoken word, category and motion parameters."""

    label: str
    word: str
    category: str  # "noun", "verb", "adjective"
    location: str
    movement: str
    handshapes: tuple[str, str]
    two_handed: bool
    direction: tuple[float, float, float]
    amplitude: float
    cycles: int
    roll: float
    frames: int


@dataclass(frozen=True)
class Grammar:
    """Word orders of one language: the sign order of its glosses and the spoken order of its text."""

    sign_order: str  # "SOV", "OSV", "SVO"
    adjective_after_noun_in_signs: bool
    spoken_order: str  # "SVO", "SOV", "VSO"
    adjective_after_noun_in_text: bool
    article: str | None


def _pseudo_words(rng: random.Random, count: int) -> list[str]:
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    words: set[str] = set()
    while len(words) < count:
        syllables = rng.randint(2, 3)
        words.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(syllables)))
    return sorted(words)


def make_language(code: str, config: SyntheticCorpusConfig) -> tuple[list[Gloss], Grammar]:
    """The vocabulary and grammar of one synthetic language (a pure function of ``code`` and the seed)."""
    rng = random.Random(f"{config.seed}|synthetic|{code}")
    triples = list(itertools.product(LOCATIONS, MOVEMENTS, HANDSHAPES))
    chosen = rng.sample(triples, config.vocab_size)
    words = _pseudo_words(rng, config.vocab_size + 1)
    article = words.pop() if rng.random() < 0.5 else None
    categories = ["noun"] * (config.vocab_size // 2) + ["verb"] * (config.vocab_size // 4)
    categories += ["adjective"] * (config.vocab_size - len(categories))
    rng.shuffle(categories)
    glosses = []
    for (location, movement, shape), word, category in zip(chosen, words, categories):
        direction = np.array([rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-0.5, 0.5)])
        direction /= np.linalg.norm(direction) + 1e-9
        end_shape = rng.choice(list(HANDSHAPES)) if rng.random() < 0.35 else shape
        glosses.append(
            Gloss(
                label=word.upper(),
                word=word,
                category=category,
                location=location,
                movement=movement,
                handshapes=(shape, end_shape),
                two_handed=rng.random() < 0.3,
                direction=tuple(float(x) for x in direction),
                amplitude=rng.uniform(0.12, 0.3),
                cycles=rng.randint(1, 2),
                roll=rng.uniform(-1.2, 1.2),
                frames=rng.randint(*config.gloss_frames),
            )
        )
    grammar = Grammar(
        sign_order=rng.choice(["SOV", "OSV", "SVO"]),
        adjective_after_noun_in_signs=rng.random() < 0.7,
        spoken_order=rng.choice(["SVO", "SOV", "VSO"]),
        adjective_after_noun_in_text=rng.random() < 0.4,
        article=article,
    )
    return glosses, grammar


def _sentence_parts(rng: random.Random, glosses: list[Gloss]) -> dict[str, list[Gloss]]:
    # A random subject (noun [adjective]), verb and optional object (noun [adjective]).
    by_category = {c: [g for g in glosses if g.category == c] for c in ("noun", "verb", "adjective")}
    subject, obj = rng.sample(by_category["noun"], 2)
    parts = {"S": [subject], "V": [rng.choice(by_category["verb"])]}
    if rng.random() < 0.6:
        parts["O"] = [obj]
    for role in ("S", "O"):
        if role in parts and rng.random() < 0.35:
            parts[role] = parts[role] + [rng.choice(by_category["adjective"])]
    return parts


def _signs(parts: dict[str, list[Gloss]], grammar: Grammar) -> tuple[str, ...]:
    return tuple(g.label for g in _phrases(parts, grammar.sign_order, grammar.adjective_after_noun_in_signs))


def _text(parts: dict[str, list[Gloss]], grammar: Grammar) -> str:
    words = []
    for role in grammar.spoken_order:
        if role in parts:
            if grammar.article and role != "V":
                words.append(grammar.article)
            words += [g.word for g in _phrases({role: parts[role]}, role, grammar.adjective_after_noun_in_text)]
    return " ".join(words)


def _phrases(parts: dict[str, list[Gloss]], order: str, adjective_after: bool) -> list[Gloss]:
    # The roles' glosses in `order` (e.g. "SOV"), each noun with its adjectives before or after it.
    ordered = []
    for role in order:
        if role in parts:
            noun, *adjectives = parts[role]
            ordered += [noun, *adjectives] if adjective_after else [*adjectives, noun]
    return ordered


def _bigrams(sequence: tuple[str, ...]) -> set[tuple[str, str]]:
    return set(zip(sequence[:-1], sequence[1:]))


def sample_sentences(glosses: list[Gloss], grammar: Grammar, config: SyntheticCorpusConfig, code: str):
    """Unique sentences split so that dev/test contain held-out gloss bigrams that train never contains.

    Returns ``{split: [(gloss_labels, text)]}`` and the held-out bigrams.
    """
    rng = random.Random(f"{config.seed}|sentences|{code}")
    needed = config.train_sentences + config.dev_sentences + config.test_sentences
    pool: dict[tuple[str, ...], str] = {}
    for _ in range(needed * 40):
        if len(pool) >= needed * 3:
            break
        parts = _sentence_parts(rng, glosses)
        pool.setdefault(_signs(parts, grammar), _text(parts, grammar))
    sequences = sorted(pool)
    rng.shuffle(sequences)
    # Hold out random bigrams until enough sentences contain one; those sentences are dev/test only.
    carriers: dict[tuple[str, str], list[int]] = defaultdict(list)  # bigram -> sentences containing it
    for position, sequence in enumerate(sequences):
        for bigram in _bigrams(sequence):
            carriers[bigram].append(position)
    all_bigrams = sorted(carriers)
    rng.shuffle(all_bigrams)
    heldout: set[tuple[str, str]] = set()
    held_positions: set[int] = set()
    for bigram in all_bigrams:
        if len(held_positions) >= config.dev_sentences + config.test_sentences:
            break
        heldout.add(bigram)
        held_positions.update(carriers[bigram])
    evaluation = [s for position, s in enumerate(sequences) if position in held_positions]
    train_pool = [s for position, s in enumerate(sequences) if position not in held_positions]
    if len(train_pool) < config.train_sentences or len(evaluation) < config.dev_sentences + config.test_sentences:
        raise ValueError(
            f"{code}: the grammar yields {len(train_pool)} training and {len(evaluation)} held-out sentences, fewer "
            "than asked; raise `vocab_size` or lower the sentence counts"
        )
    # Every gloss must be seen in training, or the held-out sentences would test the unlearnable: first one
    # sentence per gloss not yet covered, then the rest of the pool in its (shuffled) order.
    train: list[tuple[str, ...]] = []
    for label in sorted(g.label for g in glosses):
        if not any(label in chosen for chosen in train):
            carrier = next((s for s in train_pool if label in s), None)
            if carrier is None:
                raise ValueError(f"{code}: gloss {label} occurs only in held-out sentences; raise the sentence counts")
            train.append(carrier)
    if len(train) > config.train_sentences:
        raise ValueError(f"{code}: covering every gloss needs {len(train)} training sentences; raise train_sentences")
    chosen = set(train)
    train += [s for s in train_pool if s not in chosen][: config.train_sentences - len(train)]
    dev = evaluation[: config.dev_sentences]
    test = evaluation[config.dev_sentences : config.dev_sentences + config.test_sentences]
    splits = {name: [(s, pool[s]) for s in seqs] for name, seqs in (("train", train), ("dev", dev), ("test", test))}
    return splits, sorted(heldout)


# ---------------------------------------------------------------------------------------------------------------
# Kinematics: wrist paths -> arms (two-bone IK) -> hands (a 21-point forward model).


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-9)


def arm_elbows(shoulder: np.ndarray, wrists: np.ndarray, pole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-bone IK: elbow positions for wrist targets (T, 3), bent towards ``pole``; wrists pulled into reach."""
    offset = wrists - shoulder
    distance = np.clip(
        np.linalg.norm(offset, axis=-1, keepdims=True), abs(UPPER_ARM - FOREARM) + 1e-3, 0.995 * (UPPER_ARM + FOREARM)
    )
    axis = _unit(offset)
    wrists = shoulder + axis * distance
    along = (UPPER_ARM**2 - FOREARM**2 + distance**2) / (2 * distance)
    height = np.sqrt(np.maximum(UPPER_ARM**2 - along**2, 0.0))
    bend = _unit(pole - (pole * axis).sum(-1, keepdims=True) * axis)
    return shoulder + axis * along + bend * height, wrists


def hand_points(curls: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """A hand in its local frame (x = side, y = forward along the fingers, z = palm normal): (T, 21, 3)."""
    num_frames = len(curls)
    points = np.zeros((num_frames, 21, 3))
    bases = [(0.05, 0.04), (0.045, 0.17), (0.015, 0.175), (-0.015, 0.165), (-0.045, 0.15)]  # (side, forward)
    segments = [
        (0.07, 0.05, 0.04),
        (0.08, 0.05, 0.035),
        (0.085, 0.055, 0.035),
        (0.08, 0.05, 0.035),
        (0.065, 0.04, 0.03),
    ]
    flexion = np.radians([80.0, 95.0, 70.0])
    for finger in range(5):
        first = 1 + 4 * finger
        side, forward = bases[finger]
        points[:, first] = (side, forward, 0.0)
        # Fingers fan out with spread; the thumb points sideways, and curls across the palm.
        heading = np.radians(50.0) if finger == 0 else np.radians((finger - 2.5) * -8.0) * spread
        direction = np.stack([np.sin(heading) * np.ones(num_frames), np.cos(heading) * np.ones(num_frames)], -1)
        position = points[:, first].copy()
        angle = np.zeros(num_frames)
        for joint, length in enumerate(segments[finger]):
            angle = angle + flexion[joint] * curls[:, finger]
            step = np.stack([direction[:, 0] * np.cos(angle), direction[:, 1] * np.cos(angle), -np.sin(angle)], -1)
            position = position + length * step
            points[:, first + joint + 1] = position
    return points


def place_hand(local: np.ndarray, elbows: np.ndarray, wrists: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Put local hands (T, 21, 3) on the forearm: forward along elbow -> wrist, rolled by ``roll`` radians."""
    forward = _unit(wrists - elbows)
    side0 = _unit(np.cross(forward, np.array([0.0, 0.0, 1.0])))
    normal0 = np.cross(forward, side0)
    side = np.cos(roll)[:, None] * side0 + np.sin(roll)[:, None] * normal0
    normal = np.cross(forward, side)
    origin = wrists + HAND_OFFSET * forward
    return origin[:, None] + np.einsum("tpk,tkd->tpd", local, np.stack([side, forward, normal], axis=1))


def _path(gloss: Gloss, steps: np.ndarray) -> np.ndarray:
    # Displacement (T, 3) of the dominant wrist from its location, for time steps in [0, 1].
    direction = np.array(gloss.direction)
    other = _unit(np.cross(direction, np.array([0.0, 0.0, 1.0])) + 1e-6)
    amp, cycles = gloss.amplitude, gloss.cycles
    phase = 2 * np.pi * cycles * steps
    if gloss.movement == "hold":
        return np.zeros((len(steps), 3))
    if gloss.movement == "line":
        return np.outer((0.5 - 0.5 * np.cos(np.pi * steps)) * amp * 1.5, direction)
    if gloss.movement == "circle":
        return amp * (np.outer(np.cos(phase) - 1, direction) + np.outer(np.sin(phase), other)) * 0.6
    if gloss.movement == "arc":
        half = np.pi * steps
        return amp * (np.outer(1 - np.cos(half), direction) + np.outer(np.sin(half), other) * 0.6)
    if gloss.movement == "taps":
        return np.outer(np.abs(np.sin(np.pi * (cycles + 1) * steps)) * amp * 0.5, direction)
    if gloss.movement == "zigzag":
        return amp * (np.outer(steps - 0.5, direction) * 1.5 + np.outer(np.sin(phase * 1.5), other) * 0.35)
    raise ValueError(f"unknown movement {gloss.movement!r}")


def _mirror_x(points: np.ndarray) -> np.ndarray:
    return points * np.array([-1.0, 1.0, 1.0])


# A motion track packs, per frame, what drives the skeleton: both wrist targets (3 + 3), both handshapes (6 + 6) and
# both hand rolls (1 + 1). Transitions interpolate tracks, not joints, so bones keep their length throughout.
_TRACK = {
    "right_wrist": slice(0, 3),
    "left_wrist": slice(3, 6),
    "right_shape": slice(6, 12),
    "left_shape": slice(12, 18),
    "right_roll": 18,
    "left_roll": 19,
}
TRACK_SIZE = 20


def track_to_pose(track: np.ndarray) -> np.ndarray:
    """Full (T, 50, 3) poses from a motion track (T, 20): IK for the arms, the hand model for the hands."""
    num_frames = len(track)
    pose = np.zeros((num_frames, NUM_JOINTS, 3))
    pose[:, 0], pose[:, 1], pose[:, 2], pose[:, 5] = NOSE, NECK, RIGHT_SHOULDER, LEFT_SHOULDER
    right_elbow, right_wrist = arm_elbows(RIGHT_SHOULDER, track[:, _TRACK["right_wrist"]], np.array([-0.6, 1.0, 0.4]))
    left_elbow, left_wrist = arm_elbows(LEFT_SHOULDER, track[:, _TRACK["left_wrist"]], np.array([0.6, 1.0, 0.4]))
    pose[:, 3], pose[:, 4], pose[:, 6], pose[:, 7] = right_elbow, right_wrist, left_elbow, left_wrist
    right_shape, left_shape = track[:, _TRACK["right_shape"]], track[:, _TRACK["left_shape"]]
    right_local = hand_points(right_shape[:, :5], right_shape[:, 5])
    left_local = _mirror_x(hand_points(left_shape[:, :5], left_shape[:, 5]))
    pose[:, RIGHT_HAND] = place_hand(right_local, right_elbow, right_wrist, track[:, _TRACK["right_roll"]])
    pose[:, LEFT_HAND] = place_hand(left_local, left_elbow, left_wrist, -track[:, _TRACK["left_roll"]])
    return pose


def _pack(right_wrist, left_wrist, right_shape, left_shape, right_roll, left_roll) -> np.ndarray:
    return np.concatenate(
        [right_wrist, left_wrist, right_shape, left_shape, right_roll[:, None], left_roll[:, None]], axis=1
    )


def gloss_track(gloss: Gloss, rng: np.random.Generator) -> np.ndarray:
    """The motion track (T, 20) of one gloss, with a little per-occurrence variation in speed, place and size."""
    frames = max(4, int(round(gloss.frames * rng.uniform(0.88, 1.12))))
    steps = np.linspace(0.0, 1.0, frames)
    start = np.array(LOCATIONS[gloss.location]) + rng.normal(0.0, 0.015, 3)
    right = start + _path(gloss, steps) * rng.uniform(0.9, 1.1)
    blend = (0.5 - 0.5 * np.cos(np.pi * steps))[:, None]
    shapes = np.array([HANDSHAPES[gloss.handshapes[0]], HANDSHAPES[gloss.handshapes[1]]])
    right_shape = shapes[0] * (1 - blend) + shapes[1] * blend
    roll = np.full(frames, gloss.roll)
    if gloss.two_handed:
        return _pack(right, _mirror_x(right), right_shape, right_shape, roll, roll)
    rest = rest_track()
    left = np.repeat(rest[None, _TRACK["left_wrist"]], frames, axis=0)
    left_shape = np.repeat(rest[None, _TRACK["left_shape"]], frames, axis=0)
    return _pack(right, left, right_shape, left_shape, roll, np.zeros(frames))


def rest_track() -> np.ndarray:
    """Both arms down, hands relaxed: one track frame (20,)."""
    shape = np.array([REST_HANDSHAPE])
    return _pack(REST_WRIST[None], _mirror_x(REST_WRIST)[None], shape, shape, np.zeros(1), np.zeros(1))[0]


def rest_pose() -> np.ndarray:
    """The rest pose (50, 3)."""
    return track_to_pose(rest_track()[None])[0]


def sentence_motion(glosses: list[Gloss], config: SyntheticCorpusConfig, rng: np.random.Generator) -> np.ndarray:
    """A sentence: rest -> glosses joined by eased transitions -> rest, as float32 (T, 50, 3)."""
    body = join_with_transitions([gloss_track(g, rng) for g in glosses], config.transition_frames)
    rest = rest_track()
    pieces = [rest[None], transition(rest, body[0], config.rest_frames), body]
    pieces += [transition(body[-1], rest, config.rest_frames), rest[None]]
    return track_to_pose(np.concatenate(pieces)).astype(np.float32)


def generate_synthetic_splits(config: SyntheticCorpusConfig, progress: bool = False):
    """The rows of every split (dicts of the canonical columns) and a description of each language."""
    splits: dict[str, list[dict]] = {"train": [], "dev": [], "test": []}
    info = {}
    for code in tqdm(config.languages_resolved, desc="synthetic corpus", unit="language", disable=not progress):
        glosses, grammar = make_language(code, config)
        by_label = {g.label: g for g in glosses}
        sentences, heldout = sample_sentences(glosses, grammar, config, code)
        for split, items in sentences.items():
            for index, (labels, text) in enumerate(items):
                clip_id = f"synthetic/{code}/{split}/{index:05d}"
                rng = np.random.default_rng(zlib.crc32(f"{config.seed}|{clip_id}".encode()))
                splits[split].append(
                    {
                        "id": clip_id,
                        "language": code,
                        "text": text,
                        "gloss": " ".join(labels),
                        "prompt": make_prompt(text, code, seed=config.seed, key=clip_id),
                        "pose": sentence_motion([by_label[label] for label in labels], config, rng),
                        "fps": config.fps,
                    }
                )
        info[code] = {
            "name": get_language(code).name,
            "grammar": asdict(grammar),
            "glosses": {
                g.label: {
                    "word": g.word,
                    "category": g.category,
                    "location": g.location,
                    "movement": g.movement,
                    "handshapes": list(g.handshapes),
                    "two_handed": g.two_handed,
                }
                for g in glosses
            },
            "heldout_bigrams": [list(b) for b in heldout],
        }
    return splits, info


def build_synthetic_corpus(
    out_dir: str | os.PathLike,
    config: SyntheticCorpusConfig | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> dict:
    """Generate the corpus and save it (parquet shards + ``stats.json`` with each language's grammar and glosses)."""
    started = time.perf_counter()
    config = config or SyntheticCorpusConfig()
    rows, info = generate_synthetic_splits(config, progress=progress)
    splits = {name: pose_dataset_from_rows(items, source=f"{name} clip") for name, items in rows.items()}
    extra = {
        "name": "signllm synthetic compositional corpus",
        "description": "Seeded synthetic sign languages: each gloss a distinct motion primitive; dev/test sentences "
        "contain gloss bigrams never seen in training.",
        "source": "generated by signllm_hf.data.corpora.synthetic (seeded; no human recordings)",
        "license": "apache-2.0",
        "builder": "synthetic",
        "config": {k: v for k, v in asdict(config).items() if k != "languages_resolved"},
        "fps": config.fps,
        "scale": 1.0,
        "coordinates": "neck origin, shoulder width 1, x right, y down (image convention)",
        "languages": info,
        "build_seconds": round(time.perf_counter() - started, 2),
    }
    save_pose_dataset(splits, out_dir, extra_stats=extra, overwrite=overwrite)
    return read_stats(out_dir) | {"total_seconds": round(time.perf_counter() - started, 2)}
