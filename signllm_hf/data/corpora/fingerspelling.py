"""A real multilingual text -> pose corpus from a fingerspelling lexicon (the spoken-to-signed format).

The lexicon is a folder with ``index.csv`` (``path, spoken_language, signed_language, start, end, words, glosses,
priority``) and one ``.pose`` file per letter (MediaPipe Holistic). The default is the lexicon shipped by the
``spoken-to-signed`` package (``pip install signllm-hf[lexicon]``): about 600 letters of 20 sign languages.

Each word of a per-language word list (common words and given names, ``word_lists/<spoken>.txt``) is spelled with
the longest matching lexicon units (``SCH`` before ``S``), every letter clip is mapped to our 50 joints in shoulder
units, trimmed to the span where the hand is up and signing (a file that holds several signs, such as the lexicon's
Greek O and PHI, is cut to its first, with a warning naming the file), resampled to one frame rate, and the letters
are joined by eased transitions. Missing joints are filled by interpolation over the word (hands relative to their
wrist); a joint never seen in the word takes the language's typical position and keeps confidence 0. A word's split
is a hash of its casefolded spelling, so no word is in two splits, in any language.

Example (needs the ``lexicon`` extra):
    >>> from signllm_hf.data.corpora.fingerspelling import FingerspellingLexicon
    >>> lexicon = FingerspellingLexicon.load()
    >>> len(lexicon.languages), [unit.gloss for unit in lexicon.spell("Schule", "ÖGS")]
    (20, ['SCH', 'U', 'L', 'E'])
"""

from __future__ import annotations

import csv
import functools
import hashlib
import logging
import os
import random
import time
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..dataset import pose_dataset_from_rows, read_stats, save_pose_dataset
from ..languages import canonical_language, get_language
from ..motion import fill_missing, join_with_transitions, resample
from ..pose_files import normalize_to_shoulders, read_pose_file
from ..prompts import make_prompt
from ..skeleton import (
    JOINT_NAMES,
    LEFT_HAND,
    LEFT_HAND_ROOT,
    MIRROR_PERMUTATION,
    NUM_JOINTS,
    RIGHT_HAND,
    RIGHT_HAND_ROOT,
    PoseClip,
    mirror,
)

INDEX_COLUMNS = ("path", "spoken_language", "signed_language", "words", "glosses")
SPLIT_BUCKETS = (("train", 8), ("dev", 1), ("test", 1))  # tenths of the word hash space

logger = logging.getLogger(__name__)


def default_lexicon_dir() -> Path:
    """The fingerspelling lexicon of the ``spoken-to-signed`` package (an optional extra)."""
    try:
        import spoken_to_signed  # noqa: PLC0415 - optional dependency
    except ImportError as error:
        raise ImportError(
            "the default fingerspelling lexicon comes with the optional `spoken-to-signed` package: "
            "pip install 'signllm-hf[lexicon]' (or pass --lexicon DIR with an index.csv of your own)"
        ) from error
    return Path(spoken_to_signed.__file__).parent / "assets" / "fingerspelling_lexicon"


def lexicon_provenance(directory: str | os.PathLike) -> str:
    """Where a lexicon's clips come from, in words and without a local path (for dataset cards)."""
    try:
        default = default_lexicon_dir()
    except ImportError:
        default = None
    if default is not None and Path(directory).resolve() == default.resolve():
        try:
            release = f" (version {version('spoken-to-signed')})"
        except PackageNotFoundError:  # a copy without package metadata
            release = ""
        return f"the spoken-to-signed package's fingerspelling lexicon{release}, MediaPipe Holistic .pose files"
    return f"a fingerspelling lexicon in spoken-to-signed's format (folder {Path(directory).name})"


def spelling_key(text: str, spoken_language: str | None) -> str:
    """Uppercase ``text`` the way the lexicon writes units: Turkish dotted i, Greek without accents, ß/ẞ as one."""
    text = unicodedata.normalize("NFC", text)
    if spoken_language == "tr":
        text = text.replace("i", "İ").replace("ı", "I")
    if spoken_language == "el":
        text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
        text = text.replace("ς", "Σ")
    text = text.replace("ß", "ẞ")
    return unicodedata.normalize("NFC", text.upper())


@dataclass(frozen=True)
class LexiconUnit:
    """One lexicon entry: a letter (or letter group such as ``SCH``) of one sign language.

    ``start_ms`` / ``end_ms`` cut a segment out of the file, as spoken-to-signed does (``end_ms`` 0: to the end).
    """

    gloss: str
    path: Path
    signed_language: str
    spoken_language: str
    row: int
    start_ms: float = 0.0
    end_ms: float = 0.0


@dataclass
class FingerspellingLexicon:
    """The units of a lexicon folder, by sign language; :meth:`spell` turns a word into units."""

    directory: Path
    units: dict[str, dict[str, list[LexiconUnit]]] = field(default_factory=dict)  # language -> key -> variants
    spoken: dict[str, str] = field(default_factory=dict)  # sign language -> its spoken language

    @classmethod
    def load(cls, directory: str | os.PathLike | None = None) -> FingerspellingLexicon:
        """Read ``index.csv``; every row's ``.pose`` file must exist (the error names the row and the path)."""
        directory = Path(directory) if directory is not None else default_lexicon_dir()
        index = directory / "index.csv"
        if not index.is_file():
            raise FileNotFoundError(
                f"{index}: missing; a lexicon folder needs an index.csv ({', '.join(INDEX_COLUMNS)})"
            )
        lexicon = cls(directory)
        with open(index, encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing_columns = [c for c in INDEX_COLUMNS if c not in (reader.fieldnames or [])]
            if missing_columns:
                raise ValueError(f"{index}: missing column(s) {missing_columns}; found {reader.fieldnames}")
            for row_number, row in enumerate(reader, start=2):  # line 1 is the header
                path = directory / row["path"]
                if not path.is_file():
                    raise FileNotFoundError(
                        f"{index} line {row_number}: {row['path']} does not exist under {directory}; restore the file "
                        "or remove the row from index.csv"
                    )
                language = canonical_language(row["signed_language"])
                spoken = row["spoken_language"].strip()
                segment = [_milliseconds(row.get(name), index, row_number, name) for name in ("start", "end")]
                gloss = row["glosses"].strip() or row["words"].strip()
                unit = LexiconUnit(gloss, path, language, spoken, row_number, *segment)
                key = spelling_key(row["words"].strip(), spoken)
                lexicon.units.setdefault(language, {}).setdefault(key, []).append(unit)
                lexicon.spoken.setdefault(language, spoken)
        if not lexicon.units:
            raise ValueError(f"{index}: no rows")
        return lexicon

    @property
    def languages(self) -> list[str]:
        return sorted(self.units)

    def spell(self, word: str, language: str) -> list[LexiconUnit] | None:
        """The units spelling ``word`` (longest match first), or None when a character has no unit."""
        code = canonical_language(language)
        if code not in self.units:
            raise ValueError(f"the lexicon has no sign language {code!r}; it has {self.languages}")
        table = self.units[code]
        longest = max(len(k) for k in table)
        key = spelling_key(word, self.spoken[code])
        units, position = [], 0
        while position < len(key):
            for size in range(min(longest, len(key) - position), 0, -1):
                variants = table.get(key[position : position + size])
                if variants:
                    units.append(variants[0])
                    position += size
                    break
            else:
                return None
        return units


def _milliseconds(value: str | None, index: Path, row: int, column: str) -> float:
    if value is None or not value.strip():
        return 0.0
    try:
        milliseconds = float(value)
    except ValueError:
        raise ValueError(f"{index} line {row}: {column}={value!r} is not a time in milliseconds") from None
    if milliseconds < 0:
        raise ValueError(f"{index} line {row}: {column}={value!r} is negative")
    return milliseconds


def word_split(word: str) -> str:
    """``train`` / ``dev`` / ``test`` from a hash of the casefolded word: the same word lands in one split anywhere."""
    bucket = int(hashlib.sha1(word.casefold().encode("utf-8")).hexdigest(), 16) % 10
    for name, size in SPLIT_BUCKETS:
        if bucket < size:
            return name
        bucket -= size
    raise AssertionError("split buckets must cover 10 tenths")


@functools.cache
def word_list(spoken_language: str) -> tuple[str, ...]:
    """The words shipped for a spoken language (ISO 639-1), or an empty tuple."""
    folder = resources.files("signllm_hf.data").joinpath("word_lists")
    entry = folder.joinpath(f"{spoken_language}.txt")
    if not entry.is_file():
        return ()
    lines = entry.read_text(encoding="utf-8").splitlines()
    return tuple(dict.fromkeys(line.strip() for line in lines if line.strip() and not line.startswith("#")))


def _dominant_wrist(clip: PoseClip) -> int:
    right = (clip.confidence[:, RIGHT_HAND] > 0).mean()
    left = (clip.confidence[:, LEFT_HAND] > 0).mean()
    return LEFT_HAND_ROOT if left > right else RIGHT_HAND_ROOT


def _wrist_height(clip: PoseClip) -> np.ndarray | None:
    # The dominant wrist's y per frame (y grows downwards), frames where it is unobserved interpolated: a missing
    # wrist is a 0 placeholder, which would read as a hand raised to the neck. None: the wrist is never seen.
    wrist = _dominant_wrist(clip)
    seen = clip.confidence[:, wrist] > 0
    if not seen.any():
        return None
    frames = np.arange(clip.num_frames)
    return np.interp(frames, frames[seen], clip.pose[seen, wrist, 1].astype(np.float64))


def sign_spans(clip: PoseClip, drop: float = 0.15, min_rest_seconds: float = 0.3) -> list[tuple[int, int]]:
    """``[first, last)`` frames of each separate sign in a clip: one span for a letter clip.

    The hand is up while its wrist is in the upper half of its range; two stretches up are two signs when the wrist
    goes back down between them, at least as low as at the clip's ends, for ``min_rest_seconds`` or more. A letter
    whose movement dips the hand (J, Ž) stays one sign; a file holding several letters does not (the lexicon's
    Greek O and PHI are each the rest of the alphabet, one letter after another).
    """
    height, count = _wrist_height(clip), clip.num_frames
    if height is None or count < 5:
        return [(0, count)]
    low, high = np.percentile(height, [5, 95])
    if high - low < drop:
        return [(0, count)]
    edges = np.flatnonzero(np.diff(np.r_[0, (height < (low + high) / 2).astype(np.int8), 0]))
    runs = [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]
    if not runs:
        return [(0, count)]
    rest, signs = max(height[0], height[-1]), [runs[0]]
    for start, end in runs[1:]:
        gap = height[signs[-1][1] : start]
        if len(gap) >= min_rest_seconds * clip.fps and gap.max() >= rest:
            signs.append((start, end))
        else:
            signs[-1] = (signs[-1][0], end)
    return signs


def active_span(clip: PoseClip, drop: float = 0.15, keep_ratio: float = 0.35) -> tuple[int, int]:
    """``[first, last)`` frames where the dominant hand is up and signing, without the raise and the lowering.

    The rest height is the lower of the wrist's first and last positions, the signing height the median over the
    middle half; frames whose wrist is more than ``keep_ratio`` of the way down to rest are cut. Clips whose wrist
    drops less than ``drop`` shoulder widths are kept whole. A clip holding several signs (:func:`sign_spans`) is
    first cut to its first one, up to where the hand is back at rest.
    """
    height, count = _wrist_height(clip), clip.num_frames
    if height is None or count < 5:
        return 0, count
    signs = sign_spans(clip, drop)
    if len(signs) > 1:
        back = np.flatnonzero(height[signs[0][1] :] >= max(height[0], height[-1]))
        height = height[: signs[0][1] + int(back[0]) + 1]
        count = len(height)
    rest = max(height[0], height[-1])
    signing = float(np.median(height[count // 4 : count - count // 4]))
    if rest - signing < drop:
        return 0, count
    up = np.flatnonzero(height < signing + keep_ratio * (rest - signing))
    if len(up) < 3:
        return 0, count
    return int(up[0]), int(up[-1]) + 1


def complete_skeleton(pose: np.ndarray, confidence: np.ndarray, typical: np.ndarray) -> np.ndarray:
    """Fill unobserved joints (confidence 0): body joints over time, hands over time relative to their wrist.

    Joints never observed take the ``typical`` (50, 3) pose's position (hands: its hand shape, hung on the wrist).
    """
    valid = confidence > 0
    filled = pose.copy()
    body, body_seen = fill_missing(pose[:, :8], valid[:, :8])
    body[:, ~body_seen] = typical[None, :8][:, ~body_seen]
    body[:, 1] = np.where(valid[:, [1]], body[:, 1], (body[:, 2] + body[:, 5]) / 2)  # neck = shoulder midpoint
    filled[:, :8] = body
    for hand, wrist in ((LEFT_HAND, LEFT_HAND_ROOT), (RIGHT_HAND, RIGHT_HAND_ROOT)):
        relative = pose[:, hand] - pose[:, [wrist]]
        relative, seen = fill_missing(relative, valid[:, hand])
        relative[:, ~seen] = (typical[hand] - typical[wrist])[None, ~seen]
        filled[:, hand] = relative + filled[:, [wrist]]
    return filled


@dataclass
class _LetterClips:
    """Letter clips of one lexicon, prepared once: mapped, trimmed, resampled; plus each language's typical pose."""

    lexicon: FingerspellingLexicon
    fps: float
    clips: dict[tuple, PoseClip] = field(default_factory=dict)

    def get(self, unit: LexiconUnit, warn: bool = True) -> PoseClip:
        """The letter clip of ``unit``, trimmed and in our units (cached). ``warn=False``: say nothing about a clip
        that had to be cut (another language's clips, read only for their typical joint positions)."""
        key = (unit.path, unit.start_ms, unit.end_ms)
        if key not in self.clips:
            clip = _segment(read_pose_file(unit.path), unit)
            start, end = active_span(clip)
            signs = sign_spans(clip)
            if len(signs) > 1:
                # Another recording's worth of signs after the letter: keep the letter, and take its units (neck,
                # shoulder width) from its own frames, not from a file whose tracking may wander off later.
                (logger.warning if warn else logger.debug)(
                    "%s (index.csv line %d, %s %r): %d signs in one clip (frames %s of %d); keeping the first, "
                    "frames %d-%d",
                    unit.path,
                    unit.row,
                    unit.signed_language,
                    unit.gloss,
                    len(signs),
                    ", ".join(f"{a}-{b}" for a, b in signs),
                    clip.num_frames,
                    start,
                    end,
                )
                kept = clip.confidence[start:end]
                pose = normalize_to_shoulders(clip.pose[start:end], kept, str(unit.path)) * (kept[..., None] > 0)
                clip = PoseClip(pose, kept, clip.fps, source=clip.source)
                start, end = 0, len(pose)
            pose = resample(clip.pose[start:end], clip.fps, self.fps)
            confidence = resample(clip.confidence[start:end], clip.fps, self.fps)
            # A joint is observed in a resampled frame only if it was in both neighbours: no blending with a 0
            # placeholder. (MediaPipe body confidences are visibilities around 0.9, so test the mask, not the value.)
            observed = resample((clip.confidence[start:end] > 0).astype(np.float32), clip.fps, self.fps)
            confidence = np.where(observed > 0.999, confidence, 0.0)
            self.clips[key] = PoseClip(pose, confidence, self.fps, source=str(unit.path))
        return self.clips[key]

    def typical_pose(self, language: str) -> np.ndarray:
        """Median position of every joint over the language's letter clips (hands as wrist offsets).

        A joint the language's clips never show (often the resting hand, below the frame) takes its median over
        every language of the lexicon instead, and failing that the mirror image of the other side's.
        """
        typical, seen = _typical_pose([self.get(u) for vs in self.lexicon.units[language].values() for u in vs])
        if not seen.all():
            lexicon = self.lexicon.units.values()  # every language's clips: their faults are not this language's
            every = [self.get(u, warn=False) for table in lexicon for vs in table.values() for u in vs]
            fallback, fallback_seen = _typical_pose(every)
            use = ~seen & fallback_seen
            typical[use], seen = fallback[use], seen | use
        if not seen.all():
            mirrored, mirrored_seen = mirror(typical), seen[MIRROR_PERMUTATION]
            use = ~seen & mirrored_seen
            typical[use], seen = mirrored[use], seen | use
        if not seen.all():
            never = [JOINT_NAMES[j] for j in np.flatnonzero(~seen)]
            raise ValueError(f"{self.lexicon.directory}: no clip shows {never} on either side of the body")
        return typical


def _segment(clip: PoseClip, unit: LexiconUnit) -> PoseClip:
    # The frames of [start_ms, end_ms), floored as spoken-to-signed does (end 0 means the end of the file).
    first = int(unit.start_ms * clip.fps // 1000)
    last = int(unit.end_ms * clip.fps // 1000) if unit.end_ms > 0 else clip.num_frames
    if first >= min(last, clip.num_frames):
        raise ValueError(
            f"{unit.path}: the segment {unit.start_ms:g}-{unit.end_ms:g} ms of index.csv line {unit.row} holds no "
            f"frame (the file has {clip.num_frames} frames at {clip.fps:g} fps)"
        )
    if first == 0 and last >= clip.num_frames:
        return clip
    return PoseClip(clip.pose[first:last], clip.confidence[first:last], clip.fps, source=clip.source)


def _typical_pose(clips: list[PoseClip]) -> tuple[np.ndarray, np.ndarray]:
    # Returns the (50, 3) median pose and which joints were observed at all.
    pose = np.concatenate([c.pose for c in clips])
    valid = np.concatenate([c.confidence for c in clips]) > 0
    typical = np.zeros((NUM_JOINTS, 3), dtype=np.float32)
    seen = valid.any(axis=0)
    for joint in np.flatnonzero(seen):
        typical[joint] = np.median(pose[valid[:, joint], joint], axis=0)
    for hand, wrist in ((LEFT_HAND, LEFT_HAND_ROOT), (RIGHT_HAND, RIGHT_HAND_ROOT)):
        both = valid[:, hand] & valid[:, [wrist]]
        for offset, joint in enumerate(range(hand.start, hand.stop)):
            if both[:, offset].any():
                typical[joint] = typical[wrist] + np.median(
                    pose[both[:, offset], joint] - pose[both[:, offset], wrist], 0
                )
            else:  # the hand's shape is only known relative to an unseen wrist, or not at all
                seen[joint] = False
    return typical, seen


def join_letters(clips: list[PoseClip], typical: np.ndarray, transition_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """The pose and confidence of letter clips joined by eased transitions, unobserved joints filled."""
    pose = join_with_transitions([clip.pose for clip in clips], transition_frames)
    # Transition frames count as observed only where both ends were, so filling repairs the rest.
    pieces = [clips[0].confidence]
    for previous, clip in zip(clips[:-1], clips[1:]):
        bridge = np.minimum(previous.confidence[-1], clip.confidence[0])
        pieces += [np.repeat(bridge[None], transition_frames, axis=0), clip.confidence]
    confidence = np.concatenate(pieces).astype(np.float32)
    return complete_skeleton(pose, confidence, typical).astype(np.float32), confidence


def spell_word(
    units: list[LexiconUnit], letters: _LetterClips, typical: np.ndarray, transition_frames: int
) -> tuple[np.ndarray, np.ndarray]:
    """The pose and confidence of a spelled word: its letters' clips joined (:func:`join_letters`)."""
    return join_letters([letters.get(unit) for unit in units], typical, transition_frames)


def build_fingerspelling_corpus(
    out_dir: str | os.PathLike,
    lexicon_dir: str | os.PathLike | None = None,
    *,
    languages: list[str] | None = None,
    words_per_language: int | None = None,
    fps: float = 25.0,
    transition_frames: int = 4,
    seed: int = 0,
    overwrite: bool = False,
    progress: bool = True,
) -> dict:
    """Build the corpus into ``out_dir`` (parquet shards + ``stats.json``); returns the stats written.

    ``languages`` restricts the sign languages (default: every language of the lexicon); ``words_per_language``
    takes a seeded sample of each word list. Languages whose spoken language has no shipped word list are spelled
    from seeded pseudo-words of their own alphabet.
    """
    started = time.perf_counter()
    lexicon = FingerspellingLexicon.load(lexicon_dir)
    wanted = list(dict.fromkeys(canonical_language(code) for code in languages)) if languages else lexicon.languages
    unknown = [code for code in wanted if code not in lexicon.units]
    if unknown:
        raise ValueError(f"the lexicon has no letters for {unknown}; it covers {lexicon.languages}")
    letters = _LetterClips(lexicon, fps)
    rows: dict[str, list[dict]] = defaultdict(list)
    skipped: dict[str, list[str]] = defaultdict(list)
    bar = tqdm(wanted, desc="fingerspelling corpus", unit="language", disable=not progress)
    for code in bar:
        bar.set_postfix_str(code)
        spoken = lexicon.spoken[code]
        words = list(word_list(spoken)) or _pseudo_words(lexicon, code, seed)
        if words_per_language is not None and words_per_language < len(words):
            words = random.Random(f"{seed}|{code}").sample(words, words_per_language)
        typical = letters.typical_pose(code)
        for word in words:
            units = lexicon.spell(word, code)
            if units is None:
                skipped[code].append(word)
                continue
            pose, confidence = spell_word(units, letters, typical, transition_frames)
            split = word_split(word)
            clip_id = f"fingerspelling/{code}/{word.casefold()}"
            rows[split].append(
                {
                    "id": clip_id,
                    "language": code,
                    "text": word,
                    "gloss": " ".join(unit.gloss for unit in units),
                    "prompt": make_prompt(word, code, seed=seed, key=clip_id),
                    "pose": pose,
                    "confidence": confidence,
                    "fps": fps,
                }
            )
    splits = {
        name: pose_dataset_from_rows(rows[name], source=f"{name} clip") for name, _ in SPLIT_BUCKETS if rows[name]
    }
    extra = {
        "name": "signllm fingerspelling corpus",
        "description": "Words spelled letter by letter with real MediaPipe Holistic fingerspelling clips, mapped to "
        "the 50-joint Prompt2Sign skeleton (shoulder-width units, neck at the origin, y down).",
        "source": lexicon_provenance(lexicon.directory),
        "license": "mit",  # the spoken-to-signed package and its lexicon (MIT); another lexicon: check its terms
        "builder": "fingerspelling",
        "seed": seed,
        "fps": fps,
        "transition_frames": transition_frames,
        "scale": 1.0,
        "coordinates": "neck origin, shoulder width 1, x right, y down (image convention)",
        "languages": {code: get_language(code).name for code in wanted},
        "skipped_words": {code: len(words) for code, words in skipped.items()},
        "build_seconds": round(time.perf_counter() - started, 2),  # making the clips, before writing them
    }
    save_pose_dataset(splits, out_dir, extra_stats=extra, overwrite=overwrite)
    return read_stats(out_dir) | {"total_seconds": round(time.perf_counter() - started, 2)}


def _pseudo_words(lexicon: FingerspellingLexicon, code: str, seed: int, count: int = 120) -> list[str]:
    # For a lexicon language without a word list: seeded letter strings of its own alphabet, 3 to 7 units long.
    alphabet = sorted(units[0].gloss for units in lexicon.units[code].values())
    rng = random.Random(f"{seed}|pseudo|{code}")
    words = {"".join(rng.choice(alphabet) for _ in range(rng.randint(3, 7))) for _ in range(count * 2)}
    return sorted(words)[:count]
