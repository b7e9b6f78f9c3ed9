"""Procedural fingerspelling: random letter strings spelled on the fly with a lexicon's real letter clips.

An unbounded stream, for what must read or sign *any* string rather than a corpus's words: the letter reader (the
legibility judge) trains on it, and so can a signer. Each sample picks a language, a string of its lexicon units
(random letters, or a real word), and joins the letter clips as the corpus builder does (eased transitions, gaps
filled), varied the way real signing varies: letters held longer or shorter, their raise and lowering trimmed,
transitions quick or slow, the signer larger or smaller, a little tremor.

Example (needs the ``lexicon`` extra):
    >>> from signllm_hf.data.corpora.letter_strings import LetterStrings
    >>> strings = LetterStrings(languages=["ase"], seed=0)
    >>> sample = strings.sample(strings.rng(0))
    >>> sample["language"], sample["pose"].shape[1:], sample["gloss"].split() == list(sample["units"])
    ('ase', (50, 3), True)
    >>> sample["text"] == sample["text"].lower() and len(sample["units"]) == len(sample["text"])
    True
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
from torch.utils.data import IterableDataset, get_worker_info

from ..languages import canonical_language
from ..motion import resample
from ..skeleton import NECK, RIGHT_HAND_ROOT, PoseClip
from .fingerspelling import (
    FingerspellingLexicon,
    LexiconUnit,
    _dominant_wrist,
    _LetterClips,
    join_letters,
    spelling_key,
    word_list,
)
from .fingerspelling import word_split as fingerspelling_split


def written_form(units: list[str], spoken_language: str | None) -> str:
    """A string of units written as the corpus's words are: lower case (Turkish I -> ı, İ -> i; ẞ -> ß), so that
    spelling it again gives the same letters."""
    text = "".join(units)
    if spoken_language == "tr":
        text = text.replace("I", "ı").replace("İ", "i")
    return text.replace("ẞ", "ß").lower()


def unit_frames(clip_lengths: list[int], transition_frames: int) -> list[int]:
    """Frames of each letter in a joined string: its clip, and the transitions on either side split between the two
    letters they join (the first half to the letter before)."""
    before, after = -(-transition_frames // 2), transition_frames // 2
    frames = [length + (before if i < len(clip_lengths) - 1 else 0) for i, length in enumerate(clip_lengths)]
    return [count + (after if i > 0 else 0) for i, count in enumerate(frames)]


def char_durations(text: str, units: list[str], frames: list[int], spoken_language: str | None) -> list[int]:
    """Frames of each character of ``text``: each unit's frames shared out over the characters it spells (``sch``:
    three characters for the one ``SCH`` clip), the remainder to the first ones. Sums to ``sum(frames)``."""
    widths = [len(spelling_key(unit, spoken_language)) for unit in units]
    if sum(widths) != len(text):  # a spelling key that changed the text's length: share frames by characters
        total, count = sum(frames), len(text)
        return [total // count + (i < total % count) for i in range(count)]
    durations = []
    for width, count in zip(widths, frames):
        durations += [count // width + (i < count % width) for i in range(width)]
    return durations


@dataclass
class Variation:
    """How much spelled strings vary (each drawn uniformly per sample or per letter); all zero: the corpus's way."""

    transition_frames: tuple[int, int] = (2, 8)
    letter_speed: tuple[float, float] = (0.7, 1.4)  # > 1: the letter is signed faster (fewer frames)
    trim: float = 0.2  # up to this fraction of each letter's frames cut at either end
    scale: float = 0.08  # the whole signer scaled by 1 +- this
    tremor: float = 0.01  # frame noise, in shoulder widths, up to this std

    @classmethod
    def none(cls) -> Variation:
        """No variation: strings spelled as the corpus builder spells words."""
        return cls(transition_frames=(4, 4), letter_speed=(1.0, 1.0), trim=0.0, scale=0.0, tremor=0.0)

    @classmethod
    def signer(cls) -> Variation:
        """What a signer trains on: timing varied (letters faster or slower, transitions quicker or slower), each
        letter whole and the signer unchanged, since a signer should reproduce the letters, not noise."""
        return cls(transition_frames=(3, 6), letter_speed=(0.8, 1.25), trim=0.0, scale=0.0, tremor=0.0)


class LetterStrings:
    """Random strings of lexicon units, spelled with the lexicon's letter clips.

    Args:
        lexicon: a :class:`FingerspellingLexicon` or its folder (default: the spoken-to-signed lexicon).
        languages: sign languages to draw from (default: all of the lexicon's).
        units: the range of string lengths, in units.
        word_fraction: the share of samples that spell a real word of the language's word list (the rest: random
            units, uniform over the alphabet, so that no bigram is favoured).
        word_split: only words of this split of the fingerspelling corpus (``"train"``: a signer trained on the
            stream never sees a dev or test word); None: every word of the lists.
        variation: how samples vary (:class:`Variation`); ``Variation.none()`` spells as the corpus builder does.
    """

    def __init__(
        self,
        lexicon: FingerspellingLexicon | str | os.PathLike | None = None,
        languages: list[str] | None = None,
        fps: float = 25.0,
        units: tuple[int, int] = (1, 8),
        word_fraction: float = 0.0,
        variation: Variation | None = None,
        seed: int = 0,
        word_split: str | None = "train",
    ):
        if not isinstance(lexicon, FingerspellingLexicon):
            lexicon = FingerspellingLexicon.load(lexicon)
        self.lexicon = lexicon
        self.languages = [canonical_language(code) for code in languages] if languages else lexicon.languages
        unknown = [code for code in self.languages if code not in lexicon.units]
        if unknown:
            raise ValueError(f"the lexicon has no letters for {unknown}; it covers {lexicon.languages}")
        if not 0 <= word_fraction <= 1:
            raise ValueError(f"`word_fraction` must be in [0, 1], got {word_fraction}")
        if not 1 <= units[0] <= units[1]:
            raise ValueError(f"`units` must be (min, max) with 1 <= min <= max, got {units}")
        self.fps, self.units, self.word_fraction, self.seed = fps, units, word_fraction, seed
        self.variation = variation or Variation()
        self.letters = _LetterClips(lexicon, fps)
        self.typical = {code: self.letters.typical_pose(code) for code in self.languages}
        self.alphabets = {code: sorted(lexicon.units[code]) for code in self.languages}  # spelling keys
        # What a string's gloss is written in: the lexicon's own unit names ("ä" for the key "Ä", "Ch" for "CH").
        self.unit_names = {code: sorted({v[0].gloss for v in lexicon.units[code].values()}) for code in self.languages}
        self.words = {
            code: [
                word
                for word in word_list(lexicon.spoken[code])
                if lexicon.spell(word, code) and (word_split is None or fingerspelling_split(word) == word_split)
            ]
            for code in self.languages
        }

    def rng(self, stream: int = 0) -> random.Random:
        """The random source of one stream (a DataLoader worker, a process): streams never repeat each other."""
        return random.Random(f"letter-strings|{self.seed}|{stream}")

    def dominant_side(self, language: str) -> str:
        """``"right"`` or ``"left"``: the hand most of the language's letter clips are signed with."""
        clips = [self.letters.get(units[0]) for units in self.lexicon.units[canonical_language(language)].values()]
        left = sum(_dominant_wrist(clip) != RIGHT_HAND_ROOT for clip in clips)
        return "left" if left > len(clips) / 2 else "right"

    def spell(self, language: str, units: list[LexiconUnit], rng: random.Random | None = None) -> dict:
        """The pose of ``units`` in ``language``, varied with ``rng`` (None: as the corpus builder spells)."""
        variation = self.variation if rng is not None else Variation.none()
        rng = rng or random.Random(0)
        clips = [self._varied(self.letters.get(unit), variation, rng) for unit in units]
        low, high = variation.transition_frames
        transition_frames = rng.randint(low, high)
        pose, confidence = join_letters(clips, self.typical[language], transition_frames)
        if variation.scale:  # about the neck, which stays the origin
            pose = pose[:, NECK : NECK + 1] + (pose - pose[:, NECK : NECK + 1]) * (
                1 + rng.uniform(-1, 1) * variation.scale
            )
        if variation.tremor:
            noise = np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(0, variation.tremor), pose.shape)
            pose = pose + noise.astype(np.float32)
        glosses = [unit.gloss for unit in units]
        return {
            "language": language,
            "units": tuple(glosses),
            "text": written_form(glosses, self.lexicon.spoken[language]),
            "gloss": " ".join(glosses),
            "pose": pose.astype(np.float32),
            "confidence": confidence,
            "fps": self.fps,
            "unit_frames": unit_frames([len(clip.pose) for clip in clips], transition_frames),
        }

    def with_durations(self, row: dict, text: str | None = None) -> dict:
        """``row`` (a spelled sample, or a corpus clip with ``language``, ``text`` and ``pose``) with
        ``char_durations``: the frames each character of its text is signed in. A corpus clip is spelled again
        without variation, as its builder spelled it; one whose length then differs gets None (not ours)."""
        language, text = row["language"], text if text is not None else row["text"]
        units = self.lexicon.spell(text, language)
        frames = row.get("unit_frames")
        if frames is None and units is not None:
            spelled = self.spell(language, units)
            frames = spelled["unit_frames"] if len(spelled["pose"]) == len(row["pose"]) else None
        if units is None or frames is None:
            return row | {"char_durations": None}
        spoken = self.lexicon.spoken[language]
        return row | {"char_durations": char_durations(text, [u.gloss for u in units], frames, spoken)}

    def random_text(self, language: str, rng: random.Random) -> str:
        """A random string of the language's letters (or, with ``word_fraction``, a word), written as a word is."""
        if self.words[language] and rng.random() < self.word_fraction:
            return rng.choice(self.words[language])
        keys = [rng.choice(self.alphabets[language]) for _ in range(rng.randint(*self.units))]
        return written_form(keys, self.lexicon.spoken[language])

    def sample(self, rng: random.Random, language: str | None = None) -> dict:
        """One random string (of ``language``, else of a random one), spelled as the class describes. Its units are
        the lexicon's spelling of its text, which reads letter groups as one unit (``sch`` is ``SCH`` in DSGS)."""
        language = canonical_language(language) if language else rng.choice(self.languages)
        text = self.random_text(language, rng)
        units = self.lexicon.spell(text, language)
        if units is None:  # a written form that does not spell back (it should not happen): a word of the list
            raise ValueError(f"{text!r} does not spell back in {language}; the lexicon's units do not round-trip")
        sample = self.spell(language, units, rng)
        return self.with_durations(sample, text) | {"text": text}

    def evaluation_rows(self, count: int, seed: int = 0) -> list[dict]:
        """``count`` random strings per language, the same for every call with ``seed``, with reference poses spelled
        as the corpus builder spells (no variation): rows to sign and read back, like a corpus split's."""
        rows = []
        for language in self.languages:
            rng = random.Random(f"letter-strings-eval|{seed}|{language}")
            for index in range(count):
                text = self.random_text(language, rng)
                row = self.spell(language, self.lexicon.spell(text, language))
                rows.append(self.with_durations(row, text) | {"id": f"random/{language}/{index}", "text": text})
        return rows

    def _varied(self, clip: PoseClip, variation: Variation, rng: random.Random) -> PoseClip:
        pose, confidence = clip.pose, clip.confidence
        if variation.trim and len(pose) > 4:
            cut = int(len(pose) * variation.trim)
            first, last = rng.randint(0, cut), len(pose) - rng.randint(0, cut)
            pose, confidence = pose[first:last], confidence[first:last]
        speed = rng.uniform(*variation.letter_speed)
        if speed != 1.0 and len(pose) > 2:
            observed = resample((confidence > 0).astype(np.float32), self.fps * speed, self.fps) > 0.999
            pose = resample(pose, self.fps * speed, self.fps)
            confidence = np.where(observed, resample(confidence, self.fps * speed, self.fps), 0.0)
        return PoseClip(pose, confidence.astype(np.float32), self.fps)


class LetterStringDataset(IterableDataset):
    """An endless stream of :meth:`LetterStrings.sample` rows (``language``, ``text``, ``gloss``, ``pose``,
    ``char_durations``, ...).

    The stream is a function of the seed alone, the same in every process: under accelerate each process keeps its
    own slice of it (see ``signllm_hf.training.run.letter_string_stream``). Each DataLoader worker draws its own.
    With ``language_batches`` the rows come in runs of ``batch_size`` of one language (an MLSF signer trains one
    language's group per batch: pass the batch size of all processes together), drawn uniformly, or by
    ``language_priority`` (a :class:`signllm_hf.training.plc.LanguagePriority` over the same languages, which the
    trainer updates as it goes: the stream must then be read in the training process, without DataLoader workers).
    """

    def __init__(
        self, strings: LetterStrings, batch_size: int = 1, language_batches: bool = False, language_priority=None
    ):
        if language_priority is not None and list(language_priority.languages) != list(strings.languages):
            raise ValueError(
                f"the language priority covers {list(language_priority.languages)}, the stream draws from "
                f"{strings.languages}: give it the stream's languages, in the same order"
            )
        if language_priority is not None and not language_batches:
            raise ValueError("a language priority draws the language of each batch: it needs --language_batches true")
        self.strings, self.batch_size, self.language_batches = strings, batch_size, language_batches
        self.language_priority = language_priority

    def __iter__(self):
        worker = get_worker_info()
        if worker is not None and self.language_priority is not None:
            raise ValueError(
                "a letter-string stream drawn by language priority is updated by the trainer, which DataLoader "
                "workers would not see: set dataloader_num_workers to 0"
            )
        rng = self.strings.rng(worker.id if worker is not None else 0)
        while True:
            language = None
            if self.language_priority is not None:
                weights = self.language_priority.probabilities().tolist()
                language = rng.choices(self.strings.languages, weights=weights)[0]
            elif self.language_batches:
                language = rng.choice(self.strings.languages)
            for _ in range(self.batch_size):
                yield self.strings.sample(rng, language)
