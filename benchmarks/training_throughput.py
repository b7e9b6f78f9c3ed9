"""Training throughput (frames/s) of SignLLMTrainer against the same model in a plain PyTorch loop.

The plain loop is the compute bound: the batches are collated and held in memory beforehand, and each step is only
forward + backward + gradient clipping + AdamW. The Trainer runs the same number of steps over the same kind of
batches (the same corpus, batch size and language-homogeneous sampling) with everything it does on top, all of it
timed (from one step's end to the next): the data loader and collator, the loss mode, PLC's sampling and priority
updates, logging. Frames are the real (unpadded) pose frames of the batches, counted in both.

    python benchmarks/training_throughput.py                       # Base, fingerspelling (3 languages), 2 threads
    python benchmarks/training_throughput.py --corpus corpora/synthetic --steps 40 --batch-size 32

Design target (DESIGN.md section 8): the Trainer within 1.5x of the plain loop. The machine must be otherwise idle.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from transformers import TrainerCallback

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from signllm_hf import SignLLMConfig, SignLLMForPoseGeneration, SignLLMTrainer, SignLLMTrainingArguments  # noqa: E402
from signllm_hf.data import SignLLMDataCollator, compute_pose_stats  # noqa: E402
from signllm_hf.data.corpora import load_corpus  # noqa: E402
from signllm_hf.tokenization_signllm import train_text_tokenizer  # noqa: E402

MODES = {
    "mse": {"loss_mode": "mse"},
    "rl": {"loss_mode": "rl", "rl_discount": 0.99},
    "rl+plc": {"loss_mode": "rl", "rl_discount": 0.99, "plc": True},
}


class FrameCounter(TrainerCallback):
    """Wall-clock time from one step's end to the next (loading and collating the batch, the step, logging), after
    ``warmup`` steps; the trainer below reports the frames each step trained on."""

    def __init__(self, warmup: int):
        self.warmup, self.frames, self.seconds, self.pending, self.last_end = warmup, 0, 0.0, 0, None

    def on_step_end(self, args, state, control, **kwargs):
        now = time.perf_counter()
        if state.global_step > self.warmup:
            self.seconds += now - self.last_end
            self.frames += self.pending
        self.pending, self.last_end = 0, now


class CountingTrainer(SignLLMTrainer):
    counter: FrameCounter

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        self.counter.pending += int(inputs["frame_mask"].sum())
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)


def build_model(args, tokenizer, languages, stats) -> SignLLMForPoseGeneration:
    torch.manual_seed(0)
    config = SignLLMConfig.from_preset(
        args.preset, vocab_size=len(tokenizer), languages=languages, max_frames=args.max_frames
    )
    config.with_data_statistics(stats)
    return SignLLMForPoseGeneration(config)


def plain_pytorch(model, batches: list[dict], warmup: int) -> tuple[float, int]:
    """forward + backward + clip + AdamW over pre-collated batches: what the hardware can do for this model."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
    model.train()
    frames, seconds = 0, 0.0
    for step, batch in enumerate(batches):
        started = time.perf_counter()
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step >= warmup:
            seconds += time.perf_counter() - started
            frames += int(batch["frame_mask"].sum())
    return frames / seconds, len(batches) - warmup


def with_trainer(model, tokenizer, train_set, mode: dict, args, workdir: str) -> float:
    training = SignLLMTrainingArguments(
        output_dir=workdir,
        max_steps=args.steps + args.warmup,
        per_device_train_batch_size=args.batch_size,
        learning_rate=1e-4,
        max_grad_norm=1.0,
        logging_steps=10,
        save_strategy="no",
        eval_strategy="no",
        report_to=[],
        disable_tqdm=True,
        use_cpu=True,
        seed=0,
        dataloader_num_workers=0,
        **mode,
    )
    counter = FrameCounter(args.warmup)
    trainer = CountingTrainer(
        model=model, args=training, train_dataset=train_set, processing_class=tokenizer, callbacks=[counter]
    )
    trainer.counter = counter
    trainer.train()
    return counter.frames / counter.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", help="a corpus folder (default: build the fingerspelling corpus for 3 languages)")
    parser.add_argument("--preset", default="base")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before them")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-frames", type=int, default=250)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as workdir:
        corpus = args.corpus
        if corpus is None:
            from signllm_hf.data.corpora.fingerspelling import build_fingerspelling_corpus  # noqa: PLC0415

            corpus = str(Path(workdir) / "corpus")
            build_fingerspelling_corpus(corpus, languages=["ase", "gsg", "tsm"], progress=False)
        train_set = load_corpus(corpus, "train")
        train_set = train_set.filter(lambda row: len(row["pose"]) <= args.max_frames)
        languages = sorted(set(train_set["language"]))
        tokenizer = train_text_tokenizer(train_set["text"], vocab_size=260)
        stats = compute_pose_stats(train_set) | {"fps": float(train_set[0]["fps"])}

        # The plain loop's batches: language-homogeneous, like the Trainer's, collated once and kept in memory.
        collator = SignLLMDataCollator(tokenizer=tokenizer)
        generator = torch.Generator().manual_seed(0)
        rows_by_language = {lang: [i for i, x in enumerate(train_set["language"]) if x == lang] for lang in languages}
        batches = []
        for step in range(args.steps + args.warmup):
            rows = rows_by_language[languages[step % len(languages)]]
            chosen = torch.randperm(len(rows), generator=generator)[: args.batch_size].tolist()
            batch = collator([train_set[rows[i]] for i in chosen])
            batch.pop("sample_index", None)
            batches.append(batch)
        plain, steps = plain_pytorch(build_model(args, tokenizer, languages, stats), batches, args.warmup)

        results = {"plain PyTorch (compute bound)": plain}
        for name, mode in MODES.items():
            model = build_model(args, tokenizer, languages, stats)
            results[f"SignLLMTrainer, {name}"] = with_trainer(model, tokenizer, train_set, mode, args, workdir)

    model = build_model(args, tokenizer, languages, stats)
    per_language = sum(p.numel() for p in model.groups[languages[0]].parameters()) / 1e6
    print(
        f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads, preset {args.preset} "
        f"({per_language:.1f}M parameters per language), batch {args.batch_size}, {steps} timed steps, "
        f"corpus {Path(corpus).name if args.corpus else 'fingerspelling (ase, gsg, tsm)'}\n"
    )
    print("| loop | frames/s | steps/s | plain / this |")
    print("|---|---|---|---|")
    mean_frames = sum(int(b["frame_mask"].sum()) for b in batches[args.warmup :]) / steps
    for name, rate in results.items():
        print(f"| {name} | {rate:.0f} | {rate / mean_frames:.2f} | {plain / rate:.2f}x |")


if __name__ == "__main__":
    main()
