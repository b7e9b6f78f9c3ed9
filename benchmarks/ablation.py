"""The paper's ablation (its Table 7 and Fig. 5) on our corpora: DTW on dev against wall-clock time.

Configurations, each trained for the same wall-clock budget from the same start:
    base        MSE loss (Progressive Transformers' loss), the decoder reads the previous frame
    +future     + future prediction of 3 frames
    +noise      + future prediction + Gaussian noise (0.1) on the decoder input
    rl          the RL loss, gamma = 0.99 (with gamma = 1 and no PLC it is exactly the MSE loss)
    rl+plc      the RL loss + the Priority Learning Channel (eta = 1, priority = |reward|)
and the decoder's input (SignLLMConfig.decoder_input), with the MSE loss:
    just-counter     the decoder reads only the previous counter (PT's "just counter")
    position         the decoder reads nothing but positions
    rl+plc+position  the same with the RL loss + PLC

For each: DTW and DTW-MJE on the dev split every `--eval-every` seconds, the time it needs to reach the baseline's
final DTW, and back-translation scores of its final model (with a back-translator trained once on the same corpus).
Prints a Markdown table, writes a JSON of the curves and a PNG plot (matplotlib, if installed).

    signllm corpus fingerspelling corpora/fs3 --languages ase,gsg,tsm
    python benchmarks/ablation.py --corpus corpora/fs3 --minutes 8 --out benchmarks/results/ablation_fingerspelling
    python benchmarks/ablation.py --corpus corpora/synthetic --minutes 8 --out benchmarks/results/ablation_synthetic

The trained models land in sub-folders of --out (not kept in git); the table, ablation.json and ablation.png next
to them.
The machine must be otherwise idle: the comparison is in seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from transformers import TrainerCallback

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from signllm_hf.evaluation import evaluate_model  # noqa: E402
from signllm_hf.training import DataArguments, ModelArguments, train  # noqa: E402
from signllm_hf.training.arguments import SignLLMTrainingArguments  # noqa: E402
from signllm_hf.training.back_translator import train_back_translator  # noqa: E402

# (model options, training options). The paper's rows use Progressive Transformers' default decoder input (the
# previous frame), the one its Gaussian noise applies to; the last rows vary the decoder input (SignLLMConfig).
CONFIGURATIONS = {
    "base": ({"decoder_input": "frame"}, {"loss_mode": "mse"}),
    "+future": ({"decoder_input": "frame", "future_prediction": 3}, {"loss_mode": "mse"}),
    "+noise": ({"decoder_input": "frame", "future_prediction": 3, "model_gaussian_noise": 0.1}, {"loss_mode": "mse"}),
    "rl": ({"decoder_input": "frame"}, {"loss_mode": "rl", "rl_discount": 0.99}),
    "rl+plc": ({"decoder_input": "frame"}, {"loss_mode": "rl", "rl_discount": 0.99, "plc": True, "plc_eta": 1.0}),
    "just-counter": ({"decoder_input": "counter"}, {"loss_mode": "mse"}),
    "position": ({"decoder_input": "position"}, {"loss_mode": "mse"}),
    "rl+plc+position": ({"decoder_input": "position"}, {"loss_mode": "rl", "rl_discount": 0.99, "plc": True}),
}


class DTWCurve(TrainerCallback):
    """Evaluate (generation + DTW) every ``every`` seconds of training and stop after ``budget`` seconds of it.

    Training time is wall-clock time since training began (data loading, steps, logging) minus the time spent in
    these evaluations, so every configuration trains for the same time whatever its generation speed.
    """

    def __init__(self, every: float, budget: float):
        self.every, self.budget, self.trainer, self.points = every, budget, None, []
        self.started, self.evaluating, self.next_at = None, 0.0, every

    @property
    def training_seconds(self) -> float:
        return time.perf_counter() - self.started - self.evaluating

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if self.training_seconds >= self.next_at:
            self.next_at += self.every
            seconds, started = self.training_seconds, time.perf_counter()
            self.evaluate(state.global_step, seconds)
            self.evaluating += time.perf_counter() - started
        if self.training_seconds >= self.budget:
            control.should_training_stop = True

    def on_train_end(self, args, state, control, **kwargs):
        self.trained_seconds = self.training_seconds  # before the final evaluation and saving

    def evaluate(self, step: int, seconds: float) -> None:
        metrics = self.trainer.evaluate()
        self.points.append(
            {
                "seconds": round(seconds, 1),
                "step": step,
                "dtw": metrics["eval_dtw"],
                "dtw_mje": metrics["eval_dtw_mje"],
                "length_error": metrics["eval_length_error"],
            }
        )


def time_to_reach(points: list[dict], target: float) -> float | None:
    """First training time at which DTW is at or below ``target`` (linear between evaluations)."""
    previous = None
    for point in points:
        if point["dtw"] <= target:
            if previous is None or previous["dtw"] == point["dtw"]:
                return point["seconds"]
            fraction = (previous["dtw"] - target) / (previous["dtw"] - point["dtw"])
            return previous["seconds"] + fraction * (point["seconds"] - previous["seconds"])
        previous = point
    return None


def run(name: str, model_options: dict, training_options: dict, corpus: str, out: Path, args) -> dict:
    curve = DTWCurve(args.eval_every, args.minutes * 60)
    training = SignLLMTrainingArguments(
        output_dir=str(out / name),
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
        seed=args.seed,
        eval_max_frames=args.max_frames,
        logging_steps=1_000_000,
        **training_options,
    )
    data = DataArguments(
        dataset=corpus, languages=args.languages, max_eval_clips=args.eval_clips, tokenizer_vocab_size=args.vocab
    )
    model = ModelArguments(
        preset="base",
        d_model=args.width,
        ffn_dim=4 * args.width,
        attention_heads=4,
        max_frames=args.max_frames,
        counter_loss_weight=10.0,
        **model_options,
    )
    final = train(
        data, model, training, callbacks=[curve], on_trainer=lambda trainer: setattr(curve, "trainer", trainer)
    )
    curve.points.append(
        {
            "seconds": round(curve.trained_seconds, 1),
            "step": curve.trainer.state.global_step,
            "dtw": final["eval_dtw"],
            "dtw_mje": final["eval_dtw_mje"],
            "length_error": final["eval_length_error"],
        }
    )
    return {
        "name": name,
        "points": curve.points,
        "steps": curve.points[-1]["step"],
        "seconds": curve.points[-1]["seconds"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--languages", help="comma-separated (default: all of the corpus)")
    parser.add_argument("--minutes", type=float, default=6.0, help="training time of each configuration")
    parser.add_argument("--judge-minutes", type=float, default=5.0, help="training time of the back-translator")
    parser.add_argument("--eval-every", type=float, default=45.0, help="seconds of training between evaluations")
    parser.add_argument("--eval-clips", type=int, default=32)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument("--vocab", type=int, default=260, help="tokenizer vocabulary (260 = bytes: letters)")
    parser.add_argument("--max-frames", type=int, default=250)
    parser.add_argument("--only", help="comma-separated configurations to run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rerun", action="store_true", help="retrain configurations already in ablation.json")
    parser.add_argument("--out", default="benchmarks/results/ablation")
    args = parser.parse_args()
    args.languages = [c for c in args.languages.split(",") if c] if args.languages else None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    judge = out / "back-translator"
    if not (judge / "config.json").is_file():
        train_back_translator(
            args.corpus,
            str(judge),
            languages=args.languages,
            max_steps=1_000_000,
            seconds=args.judge_minutes * 60,
            d_model=192,
            layers=2,
            max_frames=args.max_frames,
            progress=False,
        )
    names = args.only.split(",") if args.only else list(CONFIGURATIONS)
    unknown = sorted(set(names) - set(CONFIGURATIONS))
    if unknown:
        parser.error(f"unknown configuration(s) {unknown}; choose from {list(CONFIGURATIONS)}")
    # An interrupted run goes on where it stopped: configurations already in ablation.json are kept (--rerun redoes).
    done = {}
    if (out / "ablation.json").is_file() and not args.rerun:
        done = {result["name"]: result for result in json.loads((out / "ablation.json").read_text(encoding="utf-8"))}
    results = []
    for name in names:
        if name in done:
            print(f"{name}: kept from {out / 'ablation.json'}")
            results.append(done[name])
            continue
        model_options, training_options = CONFIGURATIONS[name]
        result = run(name, model_options, training_options, args.corpus, out, args)
        scores = evaluate_model(
            str(out / name),
            args.corpus,
            split="dev",
            back_translator=str(judge),
            max_clips=args.eval_clips,
            max_frames=args.max_frames,
        )
        result["back_translation"] = scores["back_translation"]
        result["back_translation_of_references"] = scores["back_translation_of_references"]
        results.append(result)
        (out / "ablation.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")

    baseline = next((r for r in results if r["name"] == "base"), results[0])
    target = baseline["points"][-1]["dtw"]
    print(
        f"corpus {args.corpus}, {args.minutes:g} min per configuration, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads\n"
    )
    print(
        "| configuration | steps | final DTW | final DTW-MJE | length error | time to baseline's final DTW | "
        "BLEU-1 | BLEU-4 | ROUGE-L | chrF |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for result in results:
        last = result["points"][-1]
        reached = time_to_reach(result["points"], target)
        share = "not reached"
        if reached is not None:
            share = f"{reached:.0f} s ({100 * reached / baseline['seconds']:.0f}%)"
        bt = result["back_translation"]
        print(
            f"| {result['name']} | {result['steps']} | {last['dtw']:.3f} | {last['dtw_mje']:.4f} | "
            f"{last['length_error']:.3f} | {share} | {bt['bleu1']:.1f} | {bt['bleu4']:.1f} | {bt['rouge_l']:.1f} | "
            f"{bt['chrf']:.1f} |"
        )
    reference = results[0]["back_translation_of_references"]
    print(
        f"\nBack-translation of the reference poses (the judge's ceiling): BLEU-1 {reference['bleu1']:.1f}, "
        f"BLEU-4 {reference['bleu4']:.1f}, ROUGE-L {reference['rouge_l']:.1f}, "
        f"chrF {reference['chrf']:.1f}"
    )
    try:
        import matplotlib  # noqa: PLC0415

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        print("(matplotlib is not installed: no plot)")
        return
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for result in results:
        axis.plot(
            [p["seconds"] for p in result["points"]],
            [p["dtw"] for p in result["points"]],
            marker="o",
            label=result["name"],
        )
    axis.axhline(target, color="grey", linestyle=":", label="baseline's final DTW")
    axis.set_xlabel("training time (s)")
    axis.set_ylabel("DTW on dev (lower is better)")
    axis.set_title(f"SignLLM ablation on {Path(args.corpus).name}")
    axis.legend()
    figure.tight_layout()
    figure.savefig(out / "ablation.png", dpi=120)
    print(f"\nplot: {out / 'ablation.png'}")


if __name__ == "__main__":
    main()
