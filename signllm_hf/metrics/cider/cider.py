"""`evaluate` module: CIDEr (pycocoevalcap's CIDEr-D) and the other pose -> text translation scores.

Load it offline from the installed package: ``signllm_hf.metrics.load_metric("cider")``.
"""

import datasets
import evaluate

from signllm_hf.metrics.translation_scores import translation_scores

_DESCRIPTION = """Translation scores of 2511.08535: BLEU@1/@4 and ROUGE-L (percent), CIDEr (pycocoevalcap's CIDEr-D,
x 10, idf from the references scored together), WER and its substitution, insertion and deletion rates."""
_KWARGS = """
Args:
    predictions: translated sentences.
    references: the reference sentences.
Returns:
    bleu1, bleu4, rouge_l, cider, wer, substitutions, insertions, deletions.
"""
_CITATION = """@inproceedings{vedantam2015cider, title={CIDEr: Consensus-based Image Description Evaluation},
author={Vedantam, Ramakrishna and Zitnick, C. Lawrence and Parikh, Devi}, booktitle={CVPR}, year={2015}}"""


class Cider(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
        )

    def _compute(self, predictions, references):
        return translation_scores(predictions, references)
