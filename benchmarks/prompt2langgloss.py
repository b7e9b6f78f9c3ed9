"""Prompt2LangGloss against MLSF on one corpus: the prompt stage's Table 8, and DTW + back-translation of both modes,
each mode reading the same word sequence.

1. The prompt stage on the test split, each sentence wrapped in a prompt template held out from training: LangGloss
   exact-match rate and BLEU-4 / ROUGE-L from prompts and from plain text, per language (the paper's Table 8 asks how
   much a prompt loses against the plain text).
2. Pose models trained for the same number of steps with the same loss and width, scored on the same test clips
   (a seeded sample): DTW, DTW-MJE, length error and back-translation (by one back-translator trained on the corpus).
   Which input each reads matters: the synthetic corpus's gloss annotation lists the signs in motion order, while
   its text has the words in another order (and words that are not signed). So there are three pose models:
     - MLSF (a group per language), reading the text;
     - Prompt2LangGloss (one shared group) reading LangGloss made from the text (the paper's automatic gloss marker:
       the text's words in the text's order; trained on a copy of the corpus without its gloss annotation): the same
       word sequence as MLSF, so the difference between these two is the shared model against a group per language;
     - Prompt2LangGloss reading LangGloss made from the gloss annotation (motion order), as the library trains it
       when a corpus has glosses: the difference from the row above is what the annotation's order adds.
   Each Prompt2LangGloss model is scored end to end, from the text (its prompt stage writes the LangGloss), and the
   annotation one also from held-out prompts; and its pose model alone, reading the clip's true LangGloss (what its
   prompt stage was trained to write), which takes the prompt stage's errors out of the comparison with MLSF.

Budgets are optimiser steps (fair on a loaded machine); ``--minutes`` etc. give wall-clock budgets instead.

    signllm corpus synthetic corpora/synthetic          # 8 paper languages
    python benchmarks/prompt2langgloss.py --corpus corpora/synthetic --steps 800 --prompt-steps 600 \\
        --judge-steps 600 --out benchmarks/results/prompt2langgloss_synthetic

The trained models land in sub-folders of --out; the tables go to --out/results.md, the scores to
--out/results.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from transformers import AutoTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.provenance import header, judge_ceiling, save_table  # noqa: E402
from signllm_hf import SignLLMForPoseGeneration  # noqa: E402
from signllm_hf.data import read_stats  # noqa: E402
from signllm_hf.data.corpora import load_corpus  # noqa: E402
from signllm_hf.data.langgloss import row_langgloss  # noqa: E402
from signllm_hf.evaluation import evaluate_model, generate_split  # noqa: E402
from signllm_hf.metrics.dtw import dtw_scores  # noqa: E402
from signllm_hf.training import DataArguments, ModelArguments, PromptStageArguments, train  # noqa: E402
from signllm_hf.training.arguments import SignLLMTrainingArguments  # noqa: E402
from signllm_hf.training.back_translator import train_back_translator  # noqa: E402

# name: (mode, corpus variant, what the pose model reads)
MODELS = {
    "mlsf": ("mlsf", "corpus", "text (a group per language)"),
    "p2lg_from_text": ("prompt2langgloss", "no-gloss", "LangGloss from the text: the same words in the same order"),
    "p2lg_from_gloss": ("prompt2langgloss", "corpus", "LangGloss from the gloss annotation (motion order)"),
}


def without_gloss(corpus: str, out: Path) -> Path:
    """A copy of ``corpus`` with every clip's gloss emptied, so Prompt2LangGloss makes its LangGloss from the text."""
    if (out / "stats.json").exists():
        return out
    (out / "data").mkdir(parents=True, exist_ok=True)
    for split, rows in load_corpus(corpus).items():
        rows = rows.with_format(None).map(lambda row: {"gloss": ""})
        rows.to_parquet(str(out / "data" / f"{split}-00000-of-00001.parquet"))
    (out / "stats.json").symlink_to(Path(corpus).resolve() / "stats.json")
    return out


def train_model(name: str, corpus: Path, args, out: Path) -> Path:
    mode = MODELS[name][0]
    folder = out / name
    if (folder / "config.json").is_file():
        return folder
    training = SignLLMTrainingArguments(
        output_dir=str(folder),
        max_steps=args.steps or 1_000_000,
        per_device_train_batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        warmup_steps=50,
        lr_scheduler_type="constant_with_warmup",
        eval_strategy="no",
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        use_cpu=True,
        seed=0,
        loss_mode="mse",
        eval_max_frames=args.max_frames,
        logging_steps=200,
    )
    data = DataArguments(dataset=str(corpus), eval_split="none", tokenizer_vocab_size=args.vocab)
    model = ModelArguments(
        preset="base",
        mode=mode,
        d_model=args.width,
        ffn_dim=4 * args.width,
        attention_heads=4,
        max_frames=args.max_frames,
        decoder_input="frame",
        future_prediction=3,
        counter_loss_weight=10.0,
    )
    prompt_stage = PromptStageArguments(
        prompt_stage_steps=args.prompt_steps or 1_000_000,
        prompt_stage_seconds=None if args.prompt_steps else args.prompt_minutes * 60,
        prompt_stage_vocab_size=args.prompt_vocab,
    )
    train(data, model, training, prompt_stage, seconds=None if args.steps else args.minutes * 60, progress=False)
    return folder


def pose_model_alone(folder: Path, corpus: Path, clips: int, max_frames: int) -> dict:
    """DTW of a Prompt2LangGloss pose model reading each test clip's true LangGloss (from its gloss, else its text),
    on the same seeded sample of clips as ``evaluate_model``."""
    model = SignLLMForPoseGeneration.from_pretrained(str(folder)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    data = load_corpus(str(corpus), "test")
    kept = [i for i, code in enumerate(data["language"]) if code in model.config.languages]
    if len(kept) > clips:  # evaluate_model's sample: the same clips
        kept = sorted(np.random.default_rng(0).choice(kept, size=clips, replace=False).tolist())
    rows = [data[i] for i in kept]
    with torch.no_grad():
        poses, counters = generate_split(model, tokenizer, rows, max_frames=max_frames, texts=map(row_langgloss, rows))
    return dtw_scores([np.asarray(row["pose"]) for row in rows], poses, counters) | {"clips": len(rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--steps", type=int, help="training steps of each pose model (instead of --minutes)")
    parser.add_argument("--minutes", type=float, default=8.0, help="training time of each pose model")
    parser.add_argument("--prompt-steps", type=int, help="training steps of the prompt stage")
    parser.add_argument("--prompt-minutes", type=float, default=5.0, help="training time of the prompt stage")
    parser.add_argument("--judge-steps", type=int, help="training steps of the back-translator")
    parser.add_argument("--judge-minutes", type=float, default=5.0, help="training time of the back-translator")
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument("--vocab", type=int, default=2000, help="MLSF text tokenizer vocabulary")
    parser.add_argument("--prompt-vocab", type=int, default=1000, help="prompt stage tokenizer vocabulary")
    parser.add_argument("--max-frames", type=int, default=400)
    parser.add_argument("--test-clips", type=int, default=160)
    parser.add_argument("--out", default="benchmarks/results/prompt2langgloss")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    corpora = {"corpus": Path(args.corpus), "no-gloss": without_gloss(args.corpus, out / "corpus-without-gloss")}

    judge = out / "back-translator"
    if not (judge / "config.json").is_file():
        train_back_translator(
            args.corpus,
            str(judge),
            max_steps=args.judge_steps or 1_000_000,
            seconds=None if args.judge_steps else args.judge_minutes * 60,
            d_model=192,
            layers=2,
            max_frames=args.max_frames,
            progress=False,
        )
    folders = {name: train_model(name, corpora[variant], args, out) for name, (_, variant, _) in MODELS.items()}

    def scored(name: str, prompts: bool = False) -> dict:
        # The same seeded sample of test clips for every model (the no-gloss copy has the same rows in order).
        return evaluate_model(
            str(folders[name]),
            str(corpora[MODELS[name][1]]),
            split="test",
            back_translator=str(judge),
            max_clips=args.test_clips,
            max_frames=args.max_frames,
            prompts=prompts,
            update_card=False,
        )

    results = {name: scored(name) for name in MODELS}
    results["p2lg_from_gloss_prompt"] = scored("p2lg_from_gloss", prompts=True)
    alone = {
        name: pose_model_alone(folders[name], corpora[MODELS[name][1]], args.test_clips, args.max_frames)
        for name in ("p2lg_from_text", "p2lg_from_gloss")
    }
    metrics = {name: json.loads((folder / "metrics.json").read_text()) for name, folder in folders.items()}
    for name, result in results.items():
        result["train_steps"] = metrics[name.removesuffix("_prompt")]["steps"]
        result["train_seconds"] = metrics[name.removesuffix("_prompt")]["train_runtime"]
    saved = results | {f"{name}_pose_model_alone": scores for name, scores in alone.items()}
    (out / "results.json").write_text(json.dumps(saved, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    budget = (
        f"{args.steps} steps per pose model, {args.prompt_steps} per prompt stage, {args.judge_steps} for the judge"
        if args.steps
        else f"{args.minutes:g} min per pose model, {args.prompt_minutes:g} per prompt stage, "
        f"{args.judge_minutes:g} for the judge"
    )
    lines = [
        header(
            f"Corpus {Path(args.corpus).name} ({read_stats(args.corpus)['splits']['train']['clips']} training "
            f"sentences), test split ({results['mlsf']['clips']} clips, a seeded sample, the same for every row), "
            f"held-out prompt templates; {budget}; width {args.width}, batch {args.batch_size}."
        ),
        "Prompt stage (LangGloss from the gloss annotation), the paper's Table 8:\n",
        "| language | clips | exact, text | exact, prompt | BLEU-4, text | BLEU-4, prompt | BLEU-4 prompt vs text | "
        "ROUGE-L prompt vs text |",
        "|---|---|---|---|---|---|---|---|",
    ]
    langgloss = results["p2lg_from_gloss"]["langgloss"]
    for name, scores in [*langgloss["per_language"].items(), ("all", langgloss["overall"])]:
        lines.append(
            f"| {name} | {scores['clips']} | {scores['exact_text']:.1f}% | {scores['exact_prompt']:.1f}% | "
            f"{scores['bleu4_text']:.1f} | {scores['bleu4_prompt']:.1f} | {scores['bleu4_prompt_vs_text']:.1f} | "
            f"{scores['rouge_l_prompt_vs_text']:.1f} |"
        )
    from_text = results["p2lg_from_text"]["langgloss"]["overall"]
    lines.append(
        f"\n(The prompt stage that writes LangGloss from the text's own words: exact {from_text['exact_text']:.1f}% "
        f"from the text, {from_text['exact_prompt']:.1f}% from prompts.)\n"
    )
    lines += [
        "Poses (same steps, same loss, same width; the stage-1 input is the clip's text unless it says prompt):\n",
        "| model | pose model reads | steps | training s | DTW | DTW-MJE | length error | BLEU-1 | BLEU-4 | ROUGE-L | "
        "chrF |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, result in results.items():
        reads = MODELS[key.removesuffix("_prompt")][2]
        if key.endswith("_prompt"):
            reads = f"{reads}, written from a held-out prompt"
        bt = result["back_translation"]
        lines.append(
            f"| {result['paper_name']} | {reads} | {result['train_steps']} | {result['train_seconds']:.0f} | "
            f"{result['dtw']:.3f} | "
            f"{result['dtw_mje']:.4f} | {result['length_error']:.3f} | {bt['bleu1']:.1f} | {bt['bleu4']:.1f} | "
            f"{bt['rouge_l']:.1f} | {bt['chrf']:.1f} |"
        )
    lines += [
        "\nThe pose models alone, each reading its true input (MLSF: the text; Prompt2LangGloss: the clip's "
        "LangGloss, no prompt stage), same clips:\n",
        "| model | pose model reads | DTW | DTW-MJE | length error |",
        "|---|---|---|---|---|",
        f"| {results['mlsf']['paper_name']} | {MODELS['mlsf'][2]} | {results['mlsf']['dtw']:.3f} | "
        f"{results['mlsf']['dtw_mje']:.4f} | {results['mlsf']['length_error']:.3f} |",
    ]
    for name, scores in alone.items():
        lines.append(
            f"| {results[name]['paper_name']} | {MODELS[name][2]}, the true one | {scores['dtw']:.3f} | "
            f"{scores['dtw_mje']:.4f} | {scores['length_error']:.3f} |"
        )
    reference = results["mlsf"]["back_translation_of_references"]
    lines.append(judge_ceiling(reference))
    save_table(lines, out / "results.md")


if __name__ == "__main__":
    main()
