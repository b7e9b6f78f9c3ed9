"""Benchmark of SignLLM generation speed: KV cache vs full re-decoding, on one CPU core; parameters per preset.

    python benchmarks/generation.py                 # about 2 minutes
    python benchmarks/generation.py --threads 2 --lengths 100 200

For exact lengths the counter head is pinned to a constant -1, so no stop rule fires and every run generates exactly
the asked number of frames (the work per frame does not depend on the weights). Real time = 25 fps.

Batch-1 decoding is bound by memory bandwidth: every frame reads all decoder weights (about 29 MB for Base in
float32), which overflow the caches of a small CPU. bfloat16 halves the bytes but this CPU computes it no faster;
int8 dynamic quantisation (torch.ao, deprecated) reached 2.5x on the same machine but is not offered for that reason.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from signllm_hf import SignLLMConfig, SignLLMForPoseGeneration  # noqa: E402


def timed_generate(model, frames: int, use_cache: bool, repeats: int, batch: int = 1) -> float:
    ids = torch.arange(3, 19)[None].repeat(batch, 1)  # 16-token texts
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        out = model.generate(ids, language="ase", max_frames=frames, use_cache=use_cache)
        best = min(best, time.perf_counter() - started)
        assert out.lengths.tolist() == [frames] * batch
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="base")
    parser.add_argument("--lengths", type=int, nargs="+", default=[100, 200, 400])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 16])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    config = SignLLMConfig.from_preset(args.preset, vocab_size=8000, languages=["ase"], max_frames=max(args.lengths))
    model = SignLLMForPoseGeneration(config).eval()
    with torch.no_grad():  # never stop early: the counter is always -1
        for group in model.groups.values():
            group.decoder.counter_head.weight.zero_()
            group.decoder.counter_head.bias.fill_(-1.0)
    timed_generate(model, 10, True, 1)  # warm-up

    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), preset {args.preset}, batch 1\n")
    print("| frames | cache | seconds | frames/s | x real time (25 fps) | ms / frame |")
    print("|---|---|---|---|---|---|")
    for frames in args.lengths:
        for use_cache in (True, False):
            seconds = timed_generate(model, frames, use_cache, args.repeats if use_cache else 1)
            print(f"| {frames} | {'yes' if use_cache else 'no'} | {seconds:.2f} | {frames / seconds:.0f} | "
                  f"{frames / seconds / 25:.1f} | {1000 * seconds / frames:.2f} |")  # fmt: skip

    # Batch-1 decoding reads every decoder weight (~29 MB for Base in float32) per frame: memory-bound. Texts
    # generated together share those reads, so throughput grows with the batch.
    print("\n| batch | frames each | seconds | frames/s (all sequences) | x real time |")
    print("|---|---|---|---|---|")
    for batch in args.batches:
        seconds = timed_generate(model, 200, True, args.repeats, batch=batch)
        print(f"| {batch} | 200 | {seconds:.2f} | {200 * batch / seconds:.0f} | {200 * batch / seconds / 25:.1f} |")

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
