"""Prompt2LangGloss against MLSF on one corpus: the prompt stage's Table 8, and DTW + back-translation of both modes.

1. The prompt stage on the test split, each sentence wrapped in a prompt template held out from training: LangGloss
   exact-match rate and BLEU-4 / ROUGE-L from prompts and from plain text, per language (the paper's Table 8 asks how
   much a prompt loses against the plain text).
2. MLSF (a group per language) and Prompt2LangGloss (one shared group reading LangGloss) trained for the same time
   with the same loss, scored on the same test clips: DTW, DTW-MJE, length error and back-translation (by one
   back-translator trained on the corpus). Prompt2LangGloss is scored end to end, from the text (its prompt stage
   writes the LangGloss) and from held-out prompts.

    signllm corpus synthetic corpora/synthetic          # 8 paper languages
    python benchmarks/prompt2langgloss.py --corpus corpora/synthetic --minutes 8

The trained models land in sub-folders of --out; the table also goes to --out/results.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from signllm_hf.evaluation import evaluate_model  # noqa: E402
from signllm_hf.training import DataArguments, ModelArguments, PromptStageArguments, train  # noqa: E402
from signllm_hf.training.arguments import SignLLMTrainingArguments  # noqa: E402
from signllm_hf.training.back_translator import train_back_translator  # noqa: E402


def train_mode(mode: str, args, out: Path) -> Path:
    folder = out / mode
    if (folder / "config.json").is_file():
        return folder
    training = SignLLMTrainingArguments(
        output_dir=str(folder),
        max_steps=1_000_000,
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
    data = DataArguments(dataset=args.corpus, eval_split="none", tokenizer_vocab_size=args.vocab)
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
        prompt_stage_steps=1_000_000,
        prompt_stage_seconds=args.prompt_minutes * 60,
        prompt_stage_vocab_size=args.prompt_vocab,
    )
    train(data, model, training, prompt_stage, seconds=args.minutes * 60)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--minutes", type=float, default=8.0, help="training time of each pose model")
    parser.add_argument("--prompt-minutes", type=float, default=5.0, help="training time of the prompt stage")
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

    judge = out / "back-translator"
    if not (judge / "config.json").is_file():
        train_back_translator(
            args.corpus,
            str(judge),
            max_steps=1_000_000,
            seconds=args.judge_minutes * 60,
            d_model=192,
            layers=2,
            max_frames=args.max_frames,
            progress=False,
        )
    folders = {mode: train_mode(mode, args, out) for mode in ("mlsf", "prompt2langgloss")}

    def scored(mode: str, prompts: bool = False) -> dict:
        return evaluate_model(
            str(folders[mode]),
            args.corpus,
            split="test",
            back_translator=str(judge),
            max_clips=args.test_clips,
            max_frames=args.max_frames,
            prompts=prompts,
        )

    results = {
        "mlsf": scored("mlsf"),
        "p2lg_text": scored("prompt2langgloss"),
        "p2lg_prompt": scored("prompt2langgloss", prompts=True),
    }
    (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    langgloss = results["p2lg_text"]["langgloss"]
    print(f"corpus {args.corpus}, test split ({results['mlsf']['clips']} clips), held-out prompt templates\n")
    print("Prompt stage (LangGloss), the paper's Table 8:\n")
    print(
        "| language | clips | exact, text | exact, prompt | BLEU-4, text | BLEU-4, prompt | BLEU-4 prompt vs text | "
        "ROUGE-L prompt vs text |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, scores in [*langgloss["per_language"].items(), ("all", langgloss["overall"])]:
        print(
            f"| {name} | {scores['clips']} | {scores['exact_text']:.1f}% | {scores['exact_prompt']:.1f}% | "
            f"{scores['bleu4_text']:.1f} | {scores['bleu4_prompt']:.1f} | {scores['bleu4_prompt_vs_text']:.1f} | "
            f"{scores['rouge_l_prompt_vs_text']:.1f} |"
        )
    print("\nPoses, MLSF vs Prompt2LangGloss (same training time, same loss):\n")
    print("| model | input | DTW | DTW-MJE | length error | BLEU-1 | BLEU-4 | ROUGE-L | chrF |")
    print("|---|---|---|---|---|---|---|---|---|")
    for key, label in (
        ("mlsf", "text"),
        ("p2lg_text", "text -> LangGloss"),
        ("p2lg_prompt", "held-out prompt -> LangGloss"),
    ):
        result, bt = results[key], results[key]["back_translation"]
        print(
            f"| {result['paper_name']} | {label} | {result['dtw']:.3f} | {result['dtw_mje']:.4f} | "
            f"{result['length_error']:.3f} | {bt['bleu1']:.1f} | {bt['bleu4']:.1f} | {bt['rouge_l']:.1f} | "
            f"{bt['chrf']:.1f} |"
        )
    reference = results["mlsf"]["back_translation_of_references"]
    print(
        f"\nBack-translation of the reference poses (the judge's ceiling): BLEU-1 {reference['bleu1']:.1f}, "
        f"BLEU-4 {reference['bleu4']:.1f}, ROUGE-L {reference['rouge_l']:.1f}"
    )


if __name__ == "__main__":
    main()
