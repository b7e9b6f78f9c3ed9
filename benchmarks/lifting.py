"""Benchmark of the 2D -> 3D lifting (the Prompt2Sign tool's slow step): speed, objective, 3D error, hand length.

Compares our solver (batched Adam with a stopping rule) to the reference optimiser (1000 plain gradient steps of size
0.1 on the same objective, from the same Algorithm 1 start), on
- the real How2Sign sample (3 OpenPose clips in tests/fixtures), and
- a synthetic set: known 3D motions (rigid skeleton) projected to 2D with Gaussian noise and dropped joints, where
  the 3D error against the truth can be measured;
and times the whole tool (extract -> lift -> export) on copies of the How2Sign clips.

    python benchmarks/lifting.py                      # about 1 minute on 2 idle cores: benchmarks/results/lifting.md
    python benchmarks/lifting.py --synthetic-clips 64 --end-to-end-copies 4   # quicker

What "reference" means here: the reference tool's optimiser (plain gradient descent, 1000 steps of 0.1, on its
objective) re-implemented in torch and run on OUR preprocessing (normalisation, pruning, interpolation) from OUR
Algorithm 1 start. It is not the original Prompt2Sign tool (TF1, a graph per clip), which is not run here; the
original's speed (about 36 s per clip on an RTX 3060) is the paper's figure, not a measurement of ours. The reference
is timed two ways: batched like ours (its best case in this code base), and one clip at a time as the original runs
it (the original also rebuilds a TF1 graph per clip, which is slower still).

On the synthetic set the table also gives the hands' length: the summed length of the 42 hand bones of the lift (in
corpus units) over the truth's, and a third solver, Adam without the stopping rule (run to ``--full-steps`` steps),
shows what driving the objective all the way down does to it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.provenance import header  # noqa: E402
from signllm_hf.conversion.keypoints import find_clips, read_clip  # noqa: E402
from signllm_hf.conversion.lifting import LiftingBatch, prepare_keypoints, solve_adam, solve_reference  # noqa: E402
from signllm_hf.conversion.pipeline import ConversionOptions, convert_openpose, to_corpus_units  # noqa: E402
from signllm_hf.data.corpora.synthetic import SyntheticCorpusConfig, generate_synthetic_splits  # noqa: E402
from signllm_hf.data.skeleton import BONE_CHILDREN, bone_lengths  # noqa: E402

HAND_BONES = BONE_CHILDREN >= 8  # the bones that end at a hand joint (joints 8-49)

HOW2SIGN = ROOT / "tests" / "fixtures" / "how2sign_openpose"


def synthetic_keypoints(count: int, seed: int, noise: float, drop: float):
    """Known 3D motions (shoulder units) and their noisy 2D projections (x, y in pixels, confidence)."""
    config = SyntheticCorpusConfig(
        languages=("ase", "gsg", "kvk"),
        vocab_size=24,
        train_sentences=max(24, count // 3 + 1),
        dev_sentences=1,
        test_sentences=1,
        seed=seed,
    )
    rows, _ = generate_synthetic_splits(config)
    truth = [row["pose"] for row in rows["train"][:count]]
    rng = np.random.default_rng(seed)
    keypoints = []
    for pose in truth:
        xy = pose[..., :2] * 200 + np.array([640.0, 300.0]) + rng.normal(0, noise * 200, pose[..., :2].shape)
        confidence = rng.uniform(0.6, 1.0, pose.shape[:2])
        confidence[rng.uniform(size=confidence.shape) < drop] = 0.0  # dropped joints
        keypoints.append(np.concatenate([xy, confidence[..., None]], axis=-1).astype(np.float32))
    return truth, keypoints


def solve_in_batches(prepared, solver: str, batch_clips: int, **options):
    """Solve clips in length-sorted batches (as the pipeline does); returns per-clip objectives, poses, seconds."""
    order = sorted(range(len(prepared)), key=lambda i: len(prepared[i].targets))
    objectives = np.zeros(len(prepared))
    poses = [None] * len(prepared)
    seconds = 0.0
    for start in range(0, len(order), batch_clips):
        chunk = order[start : start + batch_clips]
        began = time.perf_counter()
        batch = LiftingBatch.from_clips([prepared[i] for i in chunk])
        result = (solve_adam if solver.startswith("adam") else solve_reference)(batch, **options)
        positions = result.positions()
        seconds += time.perf_counter() - began
        for slot, index in enumerate(chunk):
            objectives[index] = result.objectives["objective"][slot]
            poses[index] = positions[slot, : len(prepared[index].targets)]
    return objectives, poses, seconds


def error_3d(poses, truth):
    """Mean per-joint position error (shoulder widths) after bringing the lift to corpus units; and x-y only."""
    full, planar = [], []
    for pose, reference in zip(poses, truth):
        lifted = to_corpus_units(pose)
        full.append(np.linalg.norm(lifted - reference, axis=-1).mean())
        planar.append(np.linalg.norm(lifted[..., :2] - reference[..., :2], axis=-1).mean())
    return float(np.mean(full)), float(np.mean(planar))


def hand_length_ratio(poses, truth) -> float:
    """Summed hand bone length of the lifts (corpus units) over the truth's, all clips and frames together."""
    lifted = sum(float(bone_lengths(to_corpus_units(pose))[..., HAND_BONES].sum()) for pose in poses)
    return lifted / sum(float(bone_lengths(reference)[..., HAND_BONES].sum()) for reference in truth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--synthetic-clips", type=int, default=200)
    parser.add_argument("--noise", type=float, default=0.01, help="2D noise, in shoulder widths")
    parser.add_argument("--drop", type=float, default=0.1, help="fraction of joints dropped (confidence 0)")
    parser.add_argument("--batch-clips", type=int, default=64)
    parser.add_argument("--end-to-end-copies", type=int, default=10, help="copies of the 3 How2Sign clips")
    parser.add_argument(
        "--full-steps", type=int, default=1000, help="Adam without the stopping rule: its steps (0: skip)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    how2sign = [read_clip(source).keypoints for source in find_clips(HOW2SIGN / "json").values()]
    truth, synthetic = synthetic_keypoints(args.synthetic_clips, args.seed, args.noise, args.drop)
    sets = {"How2Sign sample (real)": (how2sign, None), f"synthetic ({len(synthetic)} clips)": (synthetic, truth)}
    warm = LiftingBatch.from_clips([prepare_keypoints(how2sign[0])])
    solve_adam(warm, max_steps=20)  # one-time torch warm-up, not charged to anyone

    print(
        header(
            "Reference = the reference tool's optimiser (1000 GD steps of 0.1) on our preprocessing and our "
            "Algorithm 1 start, in torch: not the original TF1 tool, which is not run here. Times after a one-time "
            "torch warm-up."
        )
    )
    columns = "data | method | clips | seconds | clips/s | mean objective | objective / reference (max) | 3D error"
    print(f"| {columns} | x-y error | hand length / true | steps |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, (keypoints, reference_poses) in sets.items():
        started = time.perf_counter()
        prepared = [prepare_keypoints(k) for k in keypoints]
        prepare_seconds = time.perf_counter() - started
        ours, ours_poses, ours_seconds = solve_in_batches(prepared, "adam", args.batch_clips)
        ours_seconds += prepare_seconds
        ref, ref_poses, ref_seconds = solve_in_batches(prepared, "reference", args.batch_clips)
        ref_seconds += prepare_seconds
        single = min(len(prepared), 3)
        _, _, single_seconds = solve_in_batches(prepared[:single], "reference", 1)
        single_rate = single / single_seconds
        ratio = ours / ref
        methods = [
            ("ours (Adam, stopping rule)", ours_seconds, ours, ours_poses, f"{ratio.max():.3f}", "stop"),
            ("reference (1000 GD steps), batched", ref_seconds, ref, ref_poses, "1", "1000"),
        ]
        if reference_poses is not None and args.full_steps > 0:  # what driving the objective down does to the hands
            full_options = {"max_steps": args.full_steps, "tolerance": float("-inf")}  # never stops
            torch.set_flush_denormal(True)  # shrinking lengths may reach denormal floats, which are very slow on CPUs
            full, full_poses, full_seconds = solve_in_batches(prepared, "adam-full", args.batch_clips, **full_options)
            torch.set_flush_denormal(False)
            full_row = ("Adam without stopping rule", full_seconds + prepare_seconds, full, full_poses)
            methods.append((*full_row, f"{(full / ref).max():.3f}", str(args.full_steps)))
        for method, seconds, objective, poses, extra_ratio, steps in methods:
            errors = error_3d(poses, reference_poses) if reference_poses is not None else None
            error_text = f"{errors[0]:.3f} | {errors[1]:.3f}" if errors else "- | -"
            hands = f"{hand_length_ratio(poses, reference_poses):.3f}" if reference_poses is not None else "-"
            print(
                f"| {name} | {method} | {len(prepared)} | {seconds:.2f} | {len(prepared) / seconds:.2f} | "
                f"{objective.mean():.5f} | {extra_ratio} | {error_text} | {hands} | {steps} |"
            )
        print(
            f"| {name} | reference, one clip at a time | {single} | {single_seconds:.2f} | {single_rate:.2f} | "
            f"- | - | - | - | - | 1000 |"
        )
    print()

    with tempfile.TemporaryDirectory() as scratch:
        inputs = Path(scratch) / "json"
        for copy in range(args.end_to_end_copies):
            for source in (HOW2SIGN / "json").iterdir():
                shutil.copytree(source, inputs / f"{source.name}-copy{copy}")
        options = ConversionOptions(language="ase", split="train", progress=False)
        started = time.perf_counter()
        reports = convert_openpose(inputs, Path(scratch) / "out", options)
        total = time.perf_counter() - started
        count = reports[0].converted
        frames = sum(len(read_clip(p).keypoints) for p in list(inputs.iterdir())[:3]) * count // 3
        print("| whole tool on How2Sign copies | clips | frames | seconds | clips/s | extract s | lift s | export s |")
        print("|---|---|---|---|---|---|---|---|")
        stage = {r.stage: r.seconds for r in reports}
        print(
            f"| extract + lift + export | {count} | {frames} | {total:.2f} | {count / total:.2f} | "
            f"{stage['extract']:.2f} | {stage['lift']:.2f} | {stage['export']:.2f} |"
        )


if __name__ == "__main__":
    main()
