"""The paper's ablation (its Table 7 and Fig. 5) on our corpora: DTW on dev against training, over several seeds.

Configurations, each trained for the same budget from the same start (per seed):
    base        MSE loss (Progressive Transformers' loss), the decoder reads the previous frame
    +future     + future prediction of 3 frames
    +noise      + future prediction + Gaussian noise (0.1) on the decoder input
    rl          the RL loss, gamma = 0.99 (with gamma = 1 and no PLC it is exactly the MSE loss)
    rl+plc      the RL loss + the Priority Learning Channel (eta = 1, priority = |reward|)
and the decoder's input (SignLLMConfig.decoder_input), with the MSE loss:
    just-counter     the decoder reads only the previous counter (PT's "just counter")
    position         the decoder reads nothing but positions
    rl+plc+position  the same with the RL loss + PLC

The budget is wall-clock training time (``--minutes``, evaluations every ``--eval-every`` seconds; the machine must
then be otherwise idle) or a number of optimiser steps (``--steps``, evaluations every ``--eval-every-steps``; fair on
a loaded machine, and what the saved table uses). Every configuration runs once per seed of ``--seeds``; the table
gives the mean, the standard deviation and the range over the seeds, so a difference can be read against the
run-to-run spread.

One sample of dev clips (``--eval-clips``, seeded, at most ``--max-frames`` long) is written to ``OUT/corpus`` as that
corpus's dev split: the DTW curve during training, the final DTW and the back-translation scores (by a
back-translator trained once on the corpus) are all measured on exactly these clips.

    signllm corpus fingerspelling corpora/fs3 --languages ase,gsg,tsm
    python benchmarks/ablation.py --corpus corpora/fs3 --steps 300 --eval-every-steps 100 --seeds 0 1 2 \
        --only base,+future,rl,rl+plc --judge-steps 300 --eval-clips 32 \
        --out benchmarks/results/ablation_fingerspelling

The trained models land in sub-folders of --out (not kept in git); the table (``ablation.md``), ``ablation.json`` and
``ablation.png`` next to them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from transformers import TrainerCallback

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.provenance import header, judge_ceiling, save_table, subset_corpus  # noqa: E402
from signllm_hf.evaluation import evaluate_model  # noqa: E402
from signllm_hf.training import DataArguments, ModelArguments, train  # noqa: E402
from signllm_hf.training.arguments import SignLLMTrainingArguments  # noqa: E402
from signllm_hf.training.back_translator import train_back_translator  # noqa: E402

# (model options, training options). The paper's rows use Progressive Transformers' default decoder input (the
# previous frame), the one its Gaussian noise applies to; the last rows vary the decoder input (SignLLMConfig).
# Future prediction is set on every row: ModelArguments' default is 3 (this ablation's winner), not PT's 0.
CONFIGURATIONS = {
    "base": ({"decoder_input": "frame", "future_prediction": 0}, {"loss_mode": "mse"}),
    "+future": ({"decoder_input": "frame", "future_prediction": 3}, {"loss_mode": "mse"}),
    "+noise": ({"decoder_input": "frame", "future_prediction": 3, "model_gaussian_noise": 0.1}, {"loss_mode": "mse"}),
    "rl": ({"decoder_input": "frame", "future_prediction": 0}, {"loss_mode": "rl", "rl_discount": 0.99}),
    "rl+plc": (
        {"decoder_input": "frame", "future_prediction": 0},
        {"loss_mode": "rl", "rl_discount": 0.99, "plc": True, "plc_eta": 1.0},
    ),
    "just-counter": ({"decoder_input": "counter", "future_prediction": 0}, {"loss_mode": "mse"}),
    "position": ({"decoder_input": "position", "future_prediction": 0}, {"loss_mode": "mse"}),
    "rl+plc+position": (
        {"decoder_input": "position", "future_prediction": 0},
        {"loss_mode": "rl", "rl_discount": 0.99, "plc": True},
    ),
}


class DTWCurve(TrainerCallback):
    """Evaluate (generation + DTW) every ``every`` units of training and stop after ``budget`` of them; the unit is
    seconds of training (``steps=False``) or optimiser steps.

    Training time is wall-clock time since training began (data loading, steps, logging) minus the time spent in
    these evaluations, so every configuration trains for the same time whatever its generation speed.
    """

    def __init__(self, every: float, budget: float, steps: bool):
        self.every, self.budget, self.steps, self.trainer, self.points = every, budget, steps, None, []
        self.started, self.evaluating, self.next_at = None, 0.0, every

    @property
    def training_seconds(self) -> float:
        return time.perf_counter() - self.started - self.evaluating

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        spent = lambda: state.global_step if self.steps else self.training_seconds  # noqa: E731
        if spent() >= self.next_at and spent() < self.budget:  # the budget's end is scored by the final evaluation
            self.next_at += self.every
            seconds, started = self.training_seconds, time.perf_counter()
            self.evaluate(state.global_step, seconds)
            self.evaluating += time.perf_counter() - started
        if spent() >= self.budget:
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


def time_to_reach(points: list[dict], target: float, key: str = "seconds") -> float | None:
    """First training time (or step, ``key="step"``) at which DTW is at or below ``target`` (linear between
    evaluations)."""
    previous = None
    for point in points:
        if point["dtw"] <= target:
            if previous is None or previous["dtw"] == point["dtw"]:
                return point[key]
            fraction = (previous["dtw"] - target) / (previous["dtw"] - point["dtw"])
            return previous[key] + fraction * (point[key] - previous[key])
        previous = point
    return None


def run(name: str, seed: int, corpus: Path, out: Path, args) -> dict:
    model_options, training_options = CONFIGURATIONS[name]
    by_steps = args.steps is not None
    curve = DTWCurve(
        args.eval_every_steps if by_steps else args.eval_every,
        args.steps if by_steps else args.minutes * 60,
        steps=by_steps,
    )
    training = SignLLMTrainingArguments(
        output_dir=str(out / name / f"seed{seed}"),
        max_steps=args.steps if by_steps else 1_000_000,
        per_device_train_batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        warmup_steps=50,
        lr_scheduler_type="constant_with_warmup",
        eval_strategy="no",
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        use_cpu=True,
        seed=seed,
        eval_max_frames=args.max_frames,
        logging_steps=1_000_000,
        **training_options,
    )
    # The corpus's dev split is the fixed sample: every clip of it is evaluated (max_eval_clips=None).
    data = DataArguments(
        dataset=str(corpus), languages=args.languages, max_eval_clips=None, tokenizer_vocab_size=args.vocab
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
        data,
        model,
        training,
        callbacks=[curve],
        on_trainer=lambda trainer: setattr(curve, "trainer", trainer),
        progress=False,
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
        "seed": seed,
        "points": curve.points,
        "steps": curve.points[-1]["step"],
        "seconds": curve.points[-1]["seconds"],
    }


def spread(values: list[float], digits: int) -> str:
    """``mean ± std (min-max)`` over the seeds (sample standard deviation; just the value for one seed)."""
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    mean, std = statistics.mean(values), statistics.stdev(values)
    return f"{mean:.{digits}f} ± {std:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def table(results: list[dict], args) -> list[str]:
    """The Markdown lines: one row per configuration, aggregated over its seeds."""
    key = "step" if args.steps is not None else "seconds"
    baselines = {r["seed"]: r for r in results if r["name"] == "base"}
    names = list(dict.fromkeys(r["name"] for r in results))
    unit = "steps" if key == "step" else "s"
    lines = [
        f"| configuration | seeds | steps | training s | final DTW | final DTW-MJE | length error | {unit} to the "
        "same seed's base final DTW | BLEU-1 | BLEU-4 | ROUGE-L | chrF |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        runs = [r for r in results if r["name"] == name]
        reached = []
        for r in runs:
            base = baselines.get(r["seed"])
            if base is not None:
                at = time_to_reach(r["points"], base["points"][-1]["dtw"], key)
                reached.append("-" if at is None else f"{100 * at / base['points'][-1][key]:.0f}%")
        bt = [r["back_translation"] for r in runs]
        lines.append(
            f"| {name} | {len(runs)} | {statistics.mean(r['steps'] for r in runs):.0f} | "
            f"{statistics.mean(r['seconds'] for r in runs):.0f} | "
            f"{spread([r['points'][-1]['dtw'] for r in runs], 3)} | "
            f"{spread([r['points'][-1]['dtw_mje'] for r in runs], 4)} | "
            f"{spread([r['points'][-1]['length_error'] for r in runs], 3)} | {' / '.join(reached) or '-'} | "
            + " | ".join(f"{statistics.mean(b[m] for b in bt):.1f}" for m in ("bleu1", "bleu4", "rouge_l", "chrf"))
            + " |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--languages", help="comma-separated (default: all of the corpus)")
    parser.add_argument("--minutes", type=float, default=6.0, help="training time of each run (without --steps)")
    parser.add_argument("--eval-every", type=float, default=45.0, help="seconds of training between evaluations")
    parser.add_argument("--steps", type=int, help="train each run for this many steps instead of --minutes")
    parser.add_argument("--eval-every-steps", type=int, default=100, help="steps between evaluations (--steps)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--judge-minutes", type=float, default=5.0, help="training time of the back-translator")
    parser.add_argument("--judge-steps", type=int, help="train the back-translator for steps instead")
    parser.add_argument("--eval-clips", type=int, default=32, help="the dev sample (DTW and back-translation)")
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument("--vocab", type=int, default=260, help="tokenizer vocabulary (260 = bytes: letters)")
    parser.add_argument("--max-frames", type=int, default=250)
    parser.add_argument("--only", help="comma-separated configurations to run")
    parser.add_argument("--rerun", action="store_true", help="retrain runs already in ablation.json")
    parser.add_argument("--note", default="", help="a sentence for the table's header (e.g. why the budget is small)")
    parser.add_argument("--out", default="benchmarks/results/ablation")
    args = parser.parse_args()
    args.languages = [c for c in args.languages.split(",") if c] if args.languages else None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = args.only.split(",") if args.only else list(CONFIGURATIONS)
    unknown = sorted(set(names) - set(CONFIGURATIONS))
    if unknown:
        parser.error(f"unknown configuration(s) {unknown}; choose from {list(CONFIGURATIONS)}")

    corpus = subset_corpus(args.corpus, out / "corpus", "dev", args.eval_clips, args.max_frames)
    judge = out / "back-translator"
    if not (judge / "config.json").is_file():
        train_back_translator(
            str(corpus),
            str(judge),
            languages=args.languages,
            max_steps=args.judge_steps or 1_000_000,
            seconds=None if args.judge_steps else args.judge_minutes * 60,
            d_model=192,
            layers=2,
            max_frames=args.max_frames,
            progress=False,
        )
    # An interrupted run goes on where it stopped: runs already in ablation.json are kept (--rerun redoes them).
    done = {}
    if (out / "ablation.json").is_file() and not args.rerun:
        saved = json.loads((out / "ablation.json").read_text(encoding="utf-8"))
        done = {(result["name"], result["seed"]): result for result in saved}
    results = []
    for seed in args.seeds:  # seed by seed, so an interrupted run has whole seeds of every configuration
        for name in names:
            if (name, seed) in done:
                print(f"{name}, seed {seed}: kept from {out / 'ablation.json'}")
                results.append(done[(name, seed)])
                continue
            result = run(name, seed, corpus, out, args)
            scores = evaluate_model(
                str(out / name / f"seed{seed}"),
                str(corpus),
                split="dev",
                back_translator=str(judge),
                max_frames=args.max_frames,
                update_card=False,
            )
            result["evaluate_model_dtw"] = scores["dtw"]  # the same clips as the curve's final point
            result["back_translation"] = scores["back_translation"]
            result["back_translation_of_references"] = scores["back_translation_of_references"]
            results.append(result)
            print(f"{name}, seed {seed}: DTW {result['points'][-1]['dtw']:.3f} after {result['steps']} steps")
            (out / "ablation.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")

    budget = f"{args.steps} steps" if args.steps is not None else f"{args.minutes:g} min of training"
    lines = [
        header(
            f"Corpus {Path(args.corpus).name} ({args.languages or 'all languages'}), {budget} per run, width "
            f"{args.width}, batch {args.batch_size}, seeds {args.seeds}; DTW, DTW-MJE, length error and "
            f"back-translation on the same {args.eval_clips} dev clips (at most {args.max_frames} frames); "
            f"cells are mean ± std (min-max) over the seeds. {args.note}".strip()
        ),
        *table(results, args),
    ]
    reference = results[0]["back_translation_of_references"]
    lines.append(judge_ceiling(reference))
    lines.append("\n| configuration | seed | steps | training s | final DTW | evaluate_model DTW (same clips) |")
    lines.append("|---|---|---|---|---|---|")
    for r in results:
        lines.append(
            f"| {r['name']} | {r['seed']} | {r['steps']} | {r['seconds']:.0f} | {r['points'][-1]['dtw']:.3f} | "
            f"{r['evaluate_model_dtw']:.3f} |"
        )
    save_table(lines, out / "ablation.md")
    try:
        import matplotlib  # noqa: PLC0415

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        print("(matplotlib is not installed: no plot)")
        return
    key = "step" if args.steps is not None else "seconds"
    figure, axis = plt.subplots(figsize=(7, 4.5))
    colours = {}
    for result in results:
        line = axis.plot(
            [p[key] for p in result["points"]],
            [p["dtw"] for p in result["points"]],
            marker="o",
            alpha=0.7,
            color=colours.get(result["name"]),
            label=None if result["name"] in colours else result["name"],
        )[0]
        colours.setdefault(result["name"], line.get_color())
    axis.set_xlabel("training steps" if key == "step" else "training time (s)")
    axis.set_ylabel("DTW on dev (lower is better)")
    axis.set_title(f"SignLLM ablation on {Path(args.corpus).name}, {len(args.seeds)} seed(s) each")
    axis.legend()
    figure.tight_layout()
    figure.savefig(out / "ablation.png", dpi=120)
    print(f"plot: {out / 'ablation.png'}")


if __name__ == "__main__":
    main()
