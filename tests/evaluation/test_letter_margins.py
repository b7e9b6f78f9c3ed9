"""Near-letter margins of the letter reader (signllm_hf.evaluation.letter_margins), with stand-in readers whose
boundary between two letters is known."""

import numpy as np
import pytest

from signllm_hf.data.corpora.fingerspelling import PoseClip
from signllm_hf.data.corpora.letter_strings import LetterStrings
from signllm_hf.evaluation.letter_margins import (
    ALPHAS,
    letter_contexts,
    letter_in_context,
    near_letter_margins,
    nearest_pairs,
    reading_margin,
)


class BoundaryReader:
    """Reads "P X N" while a pose is closer than ``boundary`` (as a fraction of the way) to X's string than to Y's,
    and "P Y N" after: the poses are linear in alpha, so the fraction is the blend's alpha itself."""

    def __init__(self, strings, language, x, y, contexts, boundary):
        table = strings.lexicon.units[language]
        clip_x, clip_y = strings.letters.get(table[x][0]), strings.letters.get(table[y][0])
        frames = min(clip_x.num_frames, clip_y.num_frames)  # X's and Y's own clips, cut to the same length
        only_x = PoseClip(clip_x.pose[:frames], clip_x.confidence[:frames], clip_x.fps)
        only_y = PoseClip(clip_y.pose[:frames], clip_x.confidence[:frames], clip_y.fps)
        self.references = [
            (
                letter_in_context(strings, language, before, only_x, after),
                letter_in_context(strings, language, before, only_y, after),
                tuple(table[key][0].gloss for key in (before, x, after)),
                tuple(table[key][0].gloss for key in (before, y, after)),
            )
            for before, after in contexts
        ]
        self.boundary = boundary

    def read(self, poses, languages):
        readings = []
        for pose in poses:
            # The context whose two strings the pose lies between (it is on the segment joining them).
            gaps = [
                np.linalg.norm(pose - at_x) + np.linalg.norm(pose - at_y) - np.linalg.norm(at_y - at_x)
                if at_x.shape == pose.shape
                else np.inf
                for at_x, at_y, *_ in self.references
            ]
            at_x, at_y, read_x, read_y = self.references[int(np.argmin(gaps))]
            fraction = np.linalg.norm(pose - at_x) / np.linalg.norm(at_y - at_x)
            readings.append(read_x if fraction < self.boundary - 1e-6 else read_y)
        return readings


@pytest.fixture(scope="module")
def strings(lexicon_dir):
    return LetterStrings(lexicon_dir, languages=["sgg", "ase"])


def test_a_fair_reader_reads_a_letter_up_to_halfway_a_lopsided_one_barely(strings):
    contexts = letter_contexts(strings, "sgg", "Ü", "U", 3)
    assert contexts == letter_contexts(strings, "sgg", "Ü", "U", 3)  # seeded
    fair = reading_margin(BoundaryReader(strings, "sgg", "Ü", "U", contexts, 0.5), strings, "sgg", "Ü", "U", contexts)
    assert fair["readings"] == [3 if alpha < 0.5 else 0 for alpha in ALPHAS]
    assert (fair["read"], fair["read_until"]) == (3, 0.4)
    lopsided = BoundaryReader(strings, "sgg", "Ü", "U", contexts, 0.15)
    assert reading_margin(lopsided, strings, "sgg", "Ü", "U", contexts)["read_until"] == 0.1
    never = BoundaryReader(strings, "sgg", "Ü", "U", contexts, 0.0)
    assert reading_margin(never, strings, "sgg", "Ü", "U", contexts) | {"readings": None} == {
        "read": 0,
        "read_until": None,
        "readings": None,
    }


def test_the_nearest_pairs_and_the_smallest_margin_over_languages(strings):
    pairs = nearest_pairs(strings, "sgg", 3)
    assert [d for d, *_ in pairs] == sorted(d for d, *_ in pairs) and len(pairs) == 3
    assert {frozenset(p[1:]) for p in pairs} >= {frozenset({"U", "Ü"})}  # Ü is recorded with almost U's hand
    assert 0.02 < pairs[0][0] < 0.06  # shoulder widths

    class Blind:  # reads nothing: no letter is read even from its own clip
        def read(self, poses, languages):
            return [()] * len(poses)

    found = near_letter_margins(Blind(), strings, pairs=1, contexts=2)
    assert found["smallest"] == 0.0 and len(found["pairs"]) == 2 * 2  # two languages, both letters of one pair
    first = found["pairs"][0]
    assert (
        found["lowest"]
        == f"{first['language']} {first['letter']} -> {first['neighbour']} (not read even from its own clip)"
    )
    assert all(p["read"] == 0 and p["read_until"] is None for p in found["pairs"])
