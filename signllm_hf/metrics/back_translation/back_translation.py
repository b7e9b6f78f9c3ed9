"""`evaluate` module: scores of back-translated text against the input text (BLEU-1..4, ROUGE-L, chrF, WER).

Load it offline from the installed package: ``signllm_hf.metrics.load_metric("back_translation")``.
"""

import datasets
import evaluate

from signllm_hf.metrics.text_scores import text_scores

_DESCRIPTION = """Back-translation scores, the main metric of sign language production: a pose -> text model
translates the generated poses, and its text is compared with the text the poses were generated from. BLEU-n is
sacrebleu's corpus BLEU up to n-grams, ROUGE-L the mean F-measure, chrF sacrebleu's, WER jiwer's (a rate)."""
_KWARGS = """
Args:
    predictions: back-translated sentences.
    references: the sentences the poses were generated from.
Returns:
    bleu1, bleu2, bleu3, bleu4, rouge_l, chrf (percent) and wer (rate).
"""
_CITATION = """@article{fang2024signllm, title={SignLLM: Sign Languages Production Large Language Models},
author={Fang, Sen and others}, year={2024}}"""


class BackTranslation(evaluate.Metric):
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
        return text_scores(predictions, references)
