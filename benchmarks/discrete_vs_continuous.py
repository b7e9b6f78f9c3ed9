"""Continuous SignLLM vs the discrete path (pose tokens + a language model), on one fingerspelling corpus.

Both directions, scored the same way for every row:

- text -> pose: ``pipeline("text-to-pose")`` signs the split's texts (every dev/test word is unseen in training) and
  random letter strings; DTW against the references, and a letter reader's CER on what was signed;
- pose -> text: the split's reference poses are translated, by the pose LM (``pipeline("pose-to-text")``) or by the
  BART-style back-translator; letter CER, BLEU-4 and WER of the translations.

On a corpus that is not fingerspelling (the synthetic one) there is no letter reader: ``--judge BACK_TRANSLATOR``
reads the signers' poses back to text instead (BLEU-4 and ROUGE-L, the paper's back-translation scores).
``--languages`` scores only some of the corpus's languages (``pose_lm_lora.md``: the one a model was adapted to).

The models are trained beforehand, each with its own command and time budget (the table prints each one's training
seconds from its ``metrics.json``); this script only scores them. The commands of the saved table:

    signllm corpus fingerspelling CORPUS --languages ase,gsg,tsm
    signllm train-letter-reader READER --languages ase,gsg,tsm --corpus CORPUS --seconds 480
    signllm train-pose-tokenizer VQ --corpus CORPUS --seconds 600 --downsample 2
    signllm train --config recipes/configs/fingerspelling_cpu.yaml --dataset CORPUS --output_dir SIGNER \
        --train_seconds 480 --save_strategy no
    signllm train-pose-lm LM_T2P --pose-tokenizer VQ --corpus CORPUS --lm t5-tiny --seconds 480 --max-steps 100000 \
        --tasks text_to_pose --vocab-size 260
    signllm train-pose-lm LM_P2T ... --tasks pose_to_text --vocab-size 260
    signllm train-back-translator CORPUS BT --seconds 480 --max-steps 100000 --vocab-size 260

    python benchmarks/discrete_vs_continuous.py --corpus CORPUS --reader READER \
        --signer "continuous=SIGNER" --signer "pose tokens + t5-tiny=LM_T2P" \
        --translator "pose tokens + t5-tiny=LM_P2T" --back-translator "back-translator=BT"

Saved: ``benchmarks/results/discrete_vs_continuous.md`` (about 20 s of scoring).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import pipeline  # noqa: E402

import signllm_hf  # noqa: E402, F401 - registers the pipelines
from benchmarks.provenance import header  # noqa: E402
from signllm_hf.data.corpora.letter_strings import LetterStrings  # noqa: E402
from signllm_hf.evaluation.judges.modeling_letter_reader import SignLLMLetterReader  # noqa: E402
from signllm_hf.evaluation.legibility import legibility  # noqa: E402
from signllm_hf.evaluation.pose_lm import corpus_rows  # noqa: E402
from signllm_hf.metrics.dtw import dtw_scores  # noqa: E402
from signllm_hf.metrics.translation_scores import translation_scores  # noqa: E402


def training_seconds(folder: str) -> float | None:
    """Training time recorded by the run that wrote ``folder`` (``train_runtime`` or ``train_seconds``)."""
    metrics = Path(folder) / "metrics.json"
    if not metrics.is_file():
        return None
    values = json.loads(metrics.read_text())
    for key in ("train_runtime", "train_seconds"):
        if key in values:
            return float(values[key])
    return None


def sign(model_dir: str, rows: list[dict]) -> list[np.ndarray]:
    signer = pipeline("text-to-pose", model=model_dir, device="cpu")
    results = signer([row["text"] for row in rows], language=[row["language"] for row in rows], batch_size=16)
    return [np.asarray(result["pose"]) for result in results]


@functools.cache
def load_back_translator(model_dir: str):
    """The back-translator and its tokenizer, loaded once however many signers it judges."""
    from transformers import AutoTokenizer  # noqa: PLC0415

    from signllm_hf.evaluation.judges.modeling_back_translator import SignLLMBackTranslator  # noqa: PLC0415

    return SignLLMBackTranslator.from_pretrained(model_dir).eval(), AutoTokenizer.from_pretrained(model_dir)


def back_translate(model_dir: str, poses: list[np.ndarray]) -> list[str]:
    model, tokenizer = load_back_translator(model_dir)
    return model.translate(poses, tokenizer)


def score_signer(name: str, model_dir: str, rows: list[dict], strings: list[dict], reader, judge) -> dict:
    """DTW against the references; with a letter ``reader``, its CER on the words and on random ``strings``; with a
    back-translator ``judge``, BLEU-4 and ROUGE-L of what it reads back from the signed poses."""
    torch.manual_seed(0)
    poses = sign(model_dir, rows)
    scores = dtw_scores([np.asarray(row["pose"]) for row in rows], poses)
    result = {"row": name, "seconds": training_seconds(model_dir), "dtw": scores["dtw"]}
    if reader is not None:
        words = legibility(reader, poses, rows)
        random = legibility(reader, sign(model_dir, strings), strings)
        result |= {
            "cer_words": words["cer"],
            "cer_random": random["cer"],
            "per_language": {
                code: (words["per_language"][code]["cer"], random["per_language"][code]["cer"])
                for code in words["per_language"]
            },
        }
    if judge is not None:
        back = translation_scores(back_translate(judge, poses), [row["text"] for row in rows])
        result |= {"bt_bleu4": back["bleu4"], "bt_rouge_l": back["rouge_l"]}
    return result


def score_translator(name: str, model_dir: str, rows: list[dict], back_translator: bool) -> dict:
    poses = [np.asarray(row["pose"]) for row in rows]
    if back_translator:
        texts = back_translate(model_dir, poses)
    else:
        reader = pipeline("pose-to-text", model=model_dir)
        results = reader([{"pose": p, "language": row["language"]} for p, row in zip(poses, rows)], batch_size=16)
        texts = [result["text"] for result in results]
    scores = translation_scores(texts, [row["text"] for row in rows])
    examples = [f"{row['text']} -> {text}" for row, text in list(zip(rows, texts))[:4]]
    return {"row": name, "seconds": training_seconds(model_dir), **scores, "examples": examples}


def named(values: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        name, _, folder = value.rpartition("=")
        pairs.append((name or Path(folder).name, folder))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--languages", help="comma-separated: score only these languages (default: all)")
    parser.add_argument("--reader", help="letter reader folder (signllm train-letter-reader): CER of the signers")
    parser.add_argument("--judge", help="back-translator folder that reads the signers' poses back (BLEU-4, ROUGE-L)")
    parser.add_argument("--signer", action="append", default=[], help="NAME=FOLDER of a text -> pose model")
    parser.add_argument("--translator", action="append", default=[], help="NAME=FOLDER of a pose LM (pose -> text)")
    parser.add_argument("--back-translator", action="append", default=[], help="NAME=FOLDER of a back-translator")
    parser.add_argument("--random-strings", type=int, default=20, help="random letter strings per language")
    parser.add_argument("--out", help="write the scores here as JSON")
    args = parser.parse_args()

    reader = SignLLMLetterReader.from_pretrained(args.reader).eval() if args.reader else None
    rows = corpus_rows(args.corpus, args.split, args.languages.split(",") if args.languages else None)
    languages = sorted({row["language"] for row in rows})
    strings = LetterStrings(languages=languages).evaluation_rows(args.random_strings) if reader else []
    print(header())
    print(
        f"corpus {args.corpus} ({args.split}: {len(rows)} clips, {', '.join(languages)}), reader {args.reader}, "
        f"back-translation judge {args.judge}"
    )

    signers = [score_signer(name, folder, rows, strings, reader, args.judge) for name, folder in named(args.signer)]
    translators = [score_translator(name, folder, rows, False) for name, folder in named(args.translator)]
    translators += [score_translator(name, folder, rows, True) for name, folder in named(args.back_translator)]

    print("\ntext -> pose (the split's texts; random letter strings)\n")
    columns = "CER words | CER random strings | per language (words / strings) | back-translation BLEU-4 / ROUGE-L"
    print(f"| model | training s | DTW | {columns} |")
    print("|---|---|---|---|---|---|---|")
    for s in signers:
        seconds = f"{s['seconds']:.0f}" if s["seconds"] else "?"
        cer = "| - | - | - "
        if "cer_words" in s:
            per_language = ", ".join(f"{c} {w:.2f} / {r:.2f}" for c, (w, r) in s["per_language"].items())
            cer = f"| {s['cer_words']:.3f} | {s['cer_random']:.3f} | {per_language} "
        back = f"| {s['bt_bleu4']:.1f} / {s['bt_rouge_l']:.1f} |" if "bt_bleu4" in s else "| - |"
        print(f"| {s['row']} | {seconds} | {s['dtw']:.2f} " + cer + back)
    print("\npose -> text (the split's reference poses)\n")
    print("| model | training s | letter CER | BLEU-4 | BLEU-1 | WER | examples (reference -> output) |")
    print("|---|---|---|---|---|---|---|")
    for t in translators:
        seconds = f"{t['seconds']:.0f}" if t["seconds"] else "?"
        print(
            f"| {t['row']} | {seconds} | {t['cer']:.3f} | {t['bleu4']:.1f} | {t['bleu1']:.1f} | {t['wer']:.2f} "
            f"| {'; '.join(t['examples'])} |"
        )
    if args.out:
        Path(args.out).write_text(json.dumps({"signers": signers, "translators": translators}, indent=2) + "\n")


if __name__ == "__main__":
    main()
