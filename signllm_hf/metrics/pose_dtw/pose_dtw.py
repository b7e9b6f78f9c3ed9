"""`evaluate` module: DTW scores of generated poses (Progressive Transformers' DTW and DTW mean joint error).

Load it offline from the installed package: ``signllm_hf.metrics.load_metric("pose_dtw")``.
"""

import datasets
import evaluate
import numpy as np

from signllm_hf.metrics.dtw import dtw_scores

_DESCRIPTION = """Dynamic time warping between generated and reference pose sequences. `dtw`: Progressive
Transformers' score (L1 frame distance, sequences cut at their counter's maximum, total cost / reference length).
`dtw_mje`: mean per-joint Euclidean error along the alignment of least total cost. `length_error`:
|generated length - reference length| / reference length."""
_KWARGS = """
Args:
    predictions: generated poses, each a list of frames of 150 values (50 joints x xyz).
    references: reference poses, same layout.
    prediction_counters (optional): the model's predicted counter per generated frame.
Returns:
    dtw, dtw_mje, length_error: means over the pairs.
"""
_CITATION = """@inproceedings{saunders2020progressive, title={Progressive Transformers for End-to-End Sign Language
Production}, author={Saunders, Ben and Camgoz, Necati Cihan and Bowden, Richard}, booktitle={ECCV}, year={2020}}"""


class PoseDTW(evaluate.Metric):
    def _info(self):
        frames = datasets.List(datasets.List(datasets.Value("float32")))
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS,
            features=datasets.Features({"predictions": frames, "references": frames}),
        )

    def _compute(self, predictions, references, prediction_counters=None):
        hypotheses = [np.asarray(p, np.float64).reshape(len(p), 50, 3) for p in predictions]
        targets = [np.asarray(r, np.float64).reshape(len(r), 50, 3) for r in references]
        return dtw_scores(targets, hypotheses, prediction_counters)
