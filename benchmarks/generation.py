"""Benchmark of SignLLM generation speed: KV cache vs full re-decoding, on one CPU core; parameters per preset.

    python benchmarks/generation.py                 # about 2 minutes
    python benchmarks/generation.py --threads 2 --lengths 100 200
    python benchmarks/generation.py --memory        # peak memory against max_frames, about 2.5 minutes
    python benchmarks/generation.py --first-frame   # streaming: time to the first frame, about 30 seconds
    python benchmarks/generation.py --pipeline-batch   # pipeline("text-to-pose"): batch_size 1 vs 16, about 1 minute
    python benchmarks/generation.py --model /tmp/qs/signer --corpus /tmp/qs/corpus   # float16 on a trained model

``--memory`` generates each length in a fresh process (Base, batch 1, float32) and reads its peak resident memory
(``ru_maxrss``) before and after ``generate``: what generation adds should grow linearly with the frames (the KV cache
holds 2 x decoder_layers x d_model float32 values per frame, 8 KB for Base), with no allocator fragmentation on top
(``benchmarks/results/generation_memory.md``).

For exact lengths the counter head is pinned to a constant -1, so no stop rule fires and every run generates exactly
the asked number of frames (the work per frame does not depend on the weights). Real time = 25 fps.

Batch-1 decoding is bound by memory bandwidth: every frame reads all decoder weights (about 29 MB for Base in
float32). float16 halves the bytes and PyTorch's CPU float16 matrix-vector kernels are fast, so a model loaded with
``dtype=torch.float16`` generates about twice as fast on a CPU (attention stays in float32 there; see
``SignLLMAttention``) for one text at a time. For batches of texts (matrix-matrix products) bfloat16 is the fast one
on a CPU with AVX-512 BF16, and float16 falls behind float32. The "max abs diff" column is the largest difference
from the float32 frames (normalised units) over the whole clip, feedback included; on these random weights it only
shows the arithmetic works.

``--model DIR --corpus DIR`` measures what float16 costs a trained model (e.g. the quickstart's signer, or any
``signllm train`` output): it generates every clip of the split (``--split``, default dev; ``--clips`` a seeded sample)
in float32 and in float16, and reports DTW, DTW-MJE and the length error of each against the references, the clips
whose length is the same in both, and the largest and mean absolute difference between the two dtypes' poses (in the
data's coordinates, over the frames both generated). Nothing is timed there.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.provenance import header  # noqa: E402
from signllm_hf import SignLLMConfig, SignLLMForPoseGeneration  # noqa: E402


def timed_generate(model, frames: int, use_cache: bool, repeats: int, batch: int = 1):
    """Best wall time over ``repeats`` and the generated (normalised) frames."""
    ids = torch.arange(3, 19)[None].repeat(batch, 1)  # 16-token texts
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        out = model.generate(ids, language="ase", max_frames=frames, use_cache=use_cache)
        best = min(best, time.perf_counter() - started)
        assert out.lengths.tolist() == [frames] * batch
    return best, out.frames


def never_stopping_model(preset: str, max_frames: int) -> SignLLMForPoseGeneration:
    """A freshly initialised model of ``preset`` whose counter is always -1, so it generates exactly ``max_frames``."""
    # future_prediction=3 as trained by default (ModelArguments): generation skips those outputs.
    config = SignLLMConfig.from_preset(
        preset, vocab_size=8000, languages=["ase"], max_frames=max_frames, future_prediction=3
    )
    model = SignLLMForPoseGeneration(config).eval()
    with torch.no_grad():  # never stop early: the counter is always -1
        for group in model.groups.values():
            group.decoder.counter_head.weight.zero_()
            group.decoder.counter_head.bias.fill_(-1.0)
    return model


def peak_mb() -> float:
    """This process's peak resident memory so far, in MB (``ru_maxrss`` is in KB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_point(preset: str, frames: int) -> dict:
    """Run in a fresh process: the peak memory before and after generating ``frames`` frames."""
    model = never_stopping_model(preset, frames)
    timed_generate(model, 10, True, 1)  # warm-up: the kernels' own buffers are counted before, not in, the growth
    before = peak_mb()
    seconds, _ = timed_generate(model, frames, True, 1)
    config = model.config
    cache_mb = 2 * config.decoder_layers * config.d_model * 4 * frames / 2**20  # keys + values, float32
    return {"frames": frames, "before": before, "after": peak_mb(), "seconds": seconds, "cache_mb": cache_mb}


def memory_table(args: argparse.Namespace) -> None:
    """One fresh process per length (a process's peak memory never goes down), then a markdown table."""
    command = " ".join(["python", "benchmarks/generation.py", *sys.argv[1:]])
    date = datetime.date.today().isoformat()
    print(
        f"`{command}` on {date}: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s), "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, torch {torch.__version__}, "
        f"{args.threads} thread(s), preset {args.preset}, batch 1, float32, "
        f"MALLOC_MMAP_THRESHOLD_={os.environ.get('MALLOC_MMAP_THRESHOLD_', 'unset')}\n"
    )
    print(
        "| max_frames | seconds | peak RSS before generate (MB) | peak RSS after (MB) | added by generate (MB) | "
        "KV cache size (MB) |"
    )
    print("|---|---|---|---|---|---|")
    for frames in args.lengths:
        point = [sys.executable, __file__, "--memory-point", str(frames), "--preset", args.preset]
        result = subprocess.run([*point, "--threads", str(args.threads)], capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"the {frames}-frame run failed:\n{result.stderr[-3000:]}")
        row = json.loads(result.stdout.strip().splitlines()[-1])
        print(
            f"| {frames} | {row['seconds']:.1f} | {row['before']:.0f} | {row['after']:.0f} | "
            f"{row['after'] - row['before']:.0f} | {row['cache_mb']:.0f} |",
            flush=True,
        )


def first_frame_table(args: argparse.Namespace) -> None:
    """Streaming (``model.stream``): the time from the call to the first frame in the caller's hands, and to the
    whole clip, for one text, autoregressive and parallel decoding (median of ``--repeats`` after a warm-up)."""
    frames = max(args.lengths or [100])
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), preset {args.preset}, batch 1, a 16-token "
        f"text, {frames} frames, float32, median of {args.repeats}\n"
    )
    print("| decoding | first frame (ms) | whole clip (ms) | frames/s |")
    print("|---|---|---|---|")
    ids = torch.arange(3, 19)[None]
    for decoding in ("autoregressive", "parallel"):
        extra = {"alignment": "duration", "decoder_input": "position"} if decoding == "parallel" else {}
        config = SignLLMConfig.from_preset(
            args.preset, vocab_size=8000, languages=["ase"], max_frames=frames, decoding=decoding, **extra
        )
        model = SignLLMForPoseGeneration(config).eval()
        with torch.no_grad():  # exactly `frames` frames: a counter that never stops, or 16 tokens of frames / 16
            for group in model.groups.values():
                if decoding == "parallel":
                    group.decoder.duration_head[-1].weight.zero_()
                    group.decoder.duration_head[-1].bias.fill_(float(torch.log1p(torch.tensor(frames / 16)).item()))
                else:
                    group.decoder.counter_head.weight.zero_()
                    group.decoder.counter_head.bias.fill_(-1.0)
        first, whole = [], []
        for _ in range(args.repeats + 1):  # the first round warms up
            started = time.perf_counter()
            stream = model.stream(ids, language="ase")
            next(stream)
            first.append(time.perf_counter() - started)
            total = 1 + sum(1 for _ in stream)
            whole.append(time.perf_counter() - started)
        first, whole = sorted(first[1:]), sorted(whole[1:])
        median_first, median_whole = first[len(first) // 2], whole[len(whole) // 2]
        print(
            f"| {decoding} ({total} chunk(s)) | {1000 * median_first:.1f} | {1000 * median_whole:.1f} | "
            f"{frames / median_whole:.0f} |"
        )


def pipeline_batch_table(args: argparse.Namespace) -> None:
    """``pipeline("text-to-pose")`` on 48 texts, one at a time (the default) and in batches: the pipeline's
    ``batch_size`` (median of ``--repeats`` interleaved rounds after a warm-up; every clip has exactly the frames of
    ``--lengths``, default 60)."""
    import tempfile  # noqa: PLC0415

    from transformers import pipeline  # noqa: PLC0415

    from signllm_hf.tokenization_signllm import train_text_tokenizer  # noqa: PLC0415

    frames = max(args.lengths or [60])
    words = "the sky is blue thank you good morning where is the train station my name is".split()
    texts = [" ".join(words[i % len(words) : i % len(words) + 3 + i % 5]) for i in range(48)]
    with tempfile.TemporaryDirectory() as folder:
        never_stopping_model(args.preset, frames).save_pretrained(folder)
        train_text_tokenizer(texts, vocab_size=300).save_pretrained(folder)
        signer = pipeline("text-to-pose", model=folder, device="cpu")
        sizes = sorted({1, *args.batches})
        times = {size: [] for size in sizes}
        for round_ in range(args.repeats + 1):  # the first round warms up
            for size in sizes:
                started = time.perf_counter()
                results = signer(texts, language="ase", batch_size=size)
                if round_:
                    times[size].append(time.perf_counter() - started)
                assert [len(r["pose"]) for r in results] == [frames] * len(texts)
    print(header(f"Preset {args.preset}, random weights, {len(texts)} texts of 3-7 words, {frames} frames each."))
    print("| batch_size | seconds (median) | texts/s | speed-up over batch_size 1 |")
    print("|---|---|---|---|")
    one = sorted(times[1])[len(times[1]) // 2]
    for size in sizes:
        median = sorted(times[size])[len(times[size]) // 2]
        print(f"| {size} | {median:.2f} | {len(texts) / median:.1f} | {one / median:.1f}x |")


def float16_quality_table(args: argparse.Namespace) -> None:
    """float16 against float32 on a trained model: the same clips generated in both, scored against the references."""
    import numpy as np  # noqa: PLC0415
    from transformers import AutoTokenizer  # noqa: PLC0415

    from signllm_hf.data.corpora import load_corpus, select_clips  # noqa: PLC0415
    from signllm_hf.evaluation import generate_split  # noqa: PLC0415
    from signllm_hf.metrics.dtw import dtw_scores  # noqa: PLC0415

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    models = {
        name: SignLLMForPoseGeneration.from_pretrained(args.model, dtype=getattr(torch, name)).eval()
        for name in ("float32", "float16")
    }
    config = models["float32"].config
    rows = select_clips(load_corpus(args.corpus, args.split), config.languages, None, args.clips, name=args.split)
    rows = [rows[i] for i in range(len(rows))]
    references = [np.asarray(row["pose"]) for row in rows]
    generated = {}
    with torch.no_grad():
        for name, model in models.items():
            generated[name] = generate_split(model, tokenizer, rows, max_frames=args.max_frames)
    poses32, poses16 = generated["float32"][0], generated["float16"][0]
    same_length = sum(len(a) == len(b) for a, b in zip(poses32, poses16))
    diffs = [np.abs(a[: min(len(a), len(b))] - b[: min(len(a), len(b))]) for a, b in zip(poses32, poses16)]
    largest = max(float(d.max()) for d in diffs)
    every = np.concatenate([d.reshape(-1) for d in diffs])
    mean, p99 = float(every.mean()), float(np.quantile(every, 0.99))
    print(
        header(
            f"Model {args.model} ({models['float32'].paper_name()}, d_model {config.d_model}, decoding "
            f"{config.decoding}), corpus {args.corpus}, split {args.split}, {len(rows)} clips, "
            "batch 16, nothing timed."
        )
    )
    print("| dtype | DTW | DTW-MJE | length error | frames generated |")
    print("|---|---|---|---|---|")
    for name, (poses, counters) in generated.items():
        scores = dtw_scores(references, poses, counters)
        print(
            f"| {name} | {scores['dtw']:.4f} | {scores['dtw_mje']:.5f} | {scores['length_error']:.4f} | "
            f"{sum(len(p) for p in poses)} |"
        )
    print(
        f"\nfloat16 vs float32: {same_length} of {len(rows)} clips the same length; over the frames both generated, "
        f"largest absolute difference {largest:.4f}, 99th percentile {p99:.5f}, mean {mean:.5f} (the data's "
        "coordinates: shoulder widths)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="base")
    parser.add_argument("--lengths", type=int, nargs="+", help="frames (default 100 200 400; --memory: 500 ... 8000)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float16", "bfloat16"])
    parser.add_argument("--memory", action="store_true", help="peak memory against max_frames instead of speed")
    parser.add_argument("--first-frame", action="store_true", help="streaming: time to the first frame")
    parser.add_argument("--pipeline-batch", action="store_true", help="the pipeline's batch_size: 1 against --batches")
    parser.add_argument("--memory-point", type=int, help=argparse.SUPPRESS)  # one --memory length, in its process
    parser.add_argument("--model", help="a trained model folder: float16 against float32 on --corpus, untimed")
    parser.add_argument("--corpus", help="with --model: the corpus folder to generate from")
    parser.add_argument("--split", default="dev", help="with --model: the split")
    parser.add_argument("--clips", type=int, help="with --model: a seeded sample of this many clips (default all)")
    parser.add_argument("--max-frames", type=int, help="with --model: the generation cap (default the model's)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.model:
        if not args.corpus:
            parser.error("--model needs --corpus")
        float16_quality_table(args)
        return
    if args.memory_point:
        print(json.dumps(memory_point(args.preset, args.memory_point)))
        return
    if args.first_frame:
        first_frame_table(args)
        return
    if args.pipeline_batch:
        pipeline_batch_table(args)
        return
    if args.memory:
        args.lengths = args.lengths or [500, 1000, 2000, 4000, 8000]
        memory_table(args)
        return
    args.lengths = args.lengths or [100, 200, 400]

    model = never_stopping_model(args.preset, max(args.lengths))
    models = {name: copy.deepcopy(model).to(getattr(torch, name)) for name in args.dtypes}
    for each in models.values():
        timed_generate(each, 10, True, 1)  # warm-up

    print(header(f"Preset {args.preset}, random weights, best of {args.repeats} after a warm-up."))
    print(
        "| frames | dtype | cache | seconds | frames/s | x real time (25 fps) | ms / frame | "
        "max abs diff (random weights) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for frames in args.lengths:
        reference = None
        for name, each in models.items():
            for use_cache in (True, False) if name == "float32" else (True,):
                seconds, out = timed_generate(each, frames, use_cache, args.repeats if use_cache else 1)
                reference = out if reference is None else reference
                diff = (out - reference).abs().max().item()
                cache = "yes" if use_cache else "no"
                print(
                    f"| {frames} | {name} | {cache} | {seconds:.2f} | {frames / seconds:.0f} | "
                    f"{frames / seconds / 25:.1f} | {1000 * seconds / frames:.2f} | {diff:.4f} |"
                )

    # Texts generated together share the weight reads, so throughput grows with the batch.
    print("\n| batch | dtype | frames each | seconds | frames/s (all sequences) | x real time |")
    print("|---|---|---|---|---|---|")
    for batch in args.batches:
        for name, each in models.items():
            seconds, _ = timed_generate(each, 200, True, args.repeats, batch=batch)
            print(
                f"| {batch} | {name} | 200 | {seconds:.2f} | {200 * batch / seconds:.0f} | "
                f"{200 * batch / seconds / 25:.1f} |"
            )

    print("\n| preset | d_model | FFN | parameters per language | paper-style name (8 languages, MLSF) |")
    print("|---|---|---|---|---|")
    for preset in ("base", "large", "super"):
        config = SignLLMConfig.from_preset(preset, vocab_size=8000, languages=["ase"])
        with torch.device("meta"):  # count without allocating the Super model
            one = SignLLMForPoseGeneration(config)
        size = one.parameters_per_language()
        name = one.paper_name().replace("SignLLM-1x", "SignLLM-8x")
        print(f"| {preset} | {config.d_model} | {config.ffn_dim} | {size / 1e6:.1f}M | {name} |")


if __name__ == "__main__":
    main()
