"""Training throughput (frames/s, steps/s) of SignLLMTrainer against the same model in a plain PyTorch loop.

The plain loop is the compute bound: each step is only forward + backward + gradient clipping + AdamW + the learning
rate schedule, over batches collated beforehand and held in memory. The Trainer rows run the same steps with
everything the Trainer does on top, all of it timed: the data loader and collator, the loss mode, PLC's priority
updates and importance weights, logging (every 10 steps).

What makes the comparison fair:
- the same optimiser: AdamW with the same hyper-parameters, fused in both (``--optim fused``, the Trainer's default
  ``adamw_torch_fused``) or unfused in both (``--optim unfused``), and the same linear schedule;
- the same batches: one list of language-homogeneous batches of dataset rows is drawn once; the plain loop gets them
  collated, every Trainer row reads the same rows in the same order through its own loader and collator (so the
  padding is the same too). The last row lets PLC draw its own batches (what ``--plc true`` really trains on): its
  frames/s counts the real frames of those batches;
- the same model start (seed 0) for every run, and the same clock for every row: wall time from the end of the
  last warm-up step to the end of the last step, so steps/s and frames/s are measured for every row; the warm-up
  (at least one step per language) takes every group's first step, which allocates its optimiser state;
- repeats interleaved (plain, Trainer mse, ..., plain, Trainer mse, ...), with the median and the range over them.
Frames are the real (unpadded) pose frames of the batches.

    python benchmarks/training_throughput.py                       # Base, fingerspelling (3 languages), 2 threads
    python benchmarks/training_throughput.py --steps 15 --warmup 2 --repeats 3     # the saved table
    python benchmarks/training_throughput.py --corpus corpora/synthetic --steps 40 --batch-size 32

Design target (DESIGN.md section 9): the Trainer within 1.5x of the plain loop. The machine must be otherwise idle.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import Sampler
from transformers import PrinterCallback, TrainerCallback, get_linear_schedule_with_warmup

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.provenance import header  # noqa: E402
from signllm_hf import SignLLMConfig, SignLLMForPoseGeneration, SignLLMTrainer, SignLLMTrainingArguments  # noqa: E402
from signllm_hf.data import SignLLMDataCollator, compute_pose_stats  # noqa: E402
from signllm_hf.data.corpora import load_corpus  # noqa: E402
from signllm_hf.tokenization_signllm import train_text_tokenizer  # noqa: E402

# name: (training options, the shared batches?)
MODES = {
    "SignLLMTrainer, mse": ({"loss_mode": "mse"}, True),
    "SignLLMTrainer, rl": ({"loss_mode": "rl", "rl_discount": 0.99}, True),
    "SignLLMTrainer, rl+plc": ({"loss_mode": "rl", "rl_discount": 0.99, "plc": True}, True),
    "SignLLMTrainer, rl+plc, PLC's own batches": ({"loss_mode": "rl", "rl_discount": 0.99, "plc": True}, False),
}
PLAIN = "plain PyTorch (compute bound)"


class FixedOrder(Sampler):
    """The dataset rows of the shared batches, one after the other (the DataLoader groups them by batch size)."""

    def __init__(self, batches: list[list[int]]):
        self.indices = [index for batch in batches for index in batch]

    def __iter__(self):
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


class Clock(TrainerCallback):
    """Wall time from the end of step ``warmup`` to the end of the last step; the trainer adds the frames."""

    def __init__(self, warmup: int):
        self.warmup, self.frames, self.pending, self.started, self.seconds, self.steps = warmup, 0, 0, None, 0.0, 0

    def on_step_end(self, args, state, control, **kwargs):
        now = time.perf_counter()
        if state.global_step == self.warmup:
            self.started = now
        elif state.global_step > self.warmup:
            self.frames += self.pending
            self.steps += 1
            self.seconds = now - self.started
        self.pending = 0


class TimedTrainer(SignLLMTrainer):
    clock: Clock
    batches: list[list[int]] | None = None  # None: the sampler's own draw

    def _get_train_sampler(self, train_dataset=None):
        own = super()._get_train_sampler(train_dataset)  # builds the PLC sampler its updates and weights use
        return own if self.batches is None else FixedOrder(self.batches)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.batches is not None and model.training:  # the shared batch of this step, row for row
            expected = self.batches[self.state.global_step]
            if inputs["sample_index"].tolist() != expected:
                raise RuntimeError(f"step {self.state.global_step}: rows {inputs['sample_index'].tolist()}")
        self.clock.pending += int(inputs["frame_mask"].sum())
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)


def build_model(args, tokenizer, languages, stats) -> SignLLMForPoseGeneration:
    torch.manual_seed(0)
    config = SignLLMConfig.from_preset(
        args.preset, vocab_size=len(tokenizer), languages=languages, max_frames=args.max_frames
    )
    config.with_data_statistics(stats)
    return SignLLMForPoseGeneration(config)


def plain_pytorch(model, batches: list[dict], args) -> tuple[float, float]:
    """forward + backward + clip + AdamW + schedule over pre-collated batches: (frames/s, steps/s)."""
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, fused=args.optim == "fused"
    )
    schedule = get_linear_schedule_with_warmup(optimizer, 0, len(batches))
    model.train()
    frames, started = 0, None
    for step, batch in enumerate(batches, start=1):
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        if step == args.warmup:
            started = time.perf_counter()
        elif step > args.warmup:
            frames += int(batch["frame_mask"].sum())
    seconds = time.perf_counter() - started
    return frames / seconds, (len(batches) - args.warmup) / seconds


def with_trainer(model, tokenizer, train_set, mode: dict, batches, args, workdir: str) -> tuple[float, float]:
    training = SignLLMTrainingArguments(
        output_dir=workdir,
        max_steps=args.steps + args.warmup,
        per_device_train_batch_size=args.batch_size,
        learning_rate=1e-4,
        optim="adamw_torch_fused" if args.optim == "fused" else "adamw_torch",
        lr_scheduler_type="linear",
        weight_decay=0.0,
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
    clock = Clock(args.warmup)
    trainer = TimedTrainer(
        model=model, args=training, train_dataset=train_set, processing_class=tokenizer, callbacks=[clock]
    )
    trainer.clock, trainer.batches = clock, batches
    trainer.remove_callback(PrinterCallback)  # its log lines would land in the printed table
    trainer.train()
    if clock.steps != args.steps:
        raise RuntimeError(f"timed {clock.steps} steps, expected {args.steps}")
    return clock.frames / clock.seconds, clock.steps / clock.seconds


def spread(values: list[float], digits: int) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", help="a corpus folder (default: build the fingerspelling corpus for 3 languages)")
    parser.add_argument("--preset", default="base")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before them")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats of every row")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-frames", type=int, default=250)
    parser.add_argument("--optim", choices=["fused", "unfused"], default="fused", help="AdamW, the same in every row")
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
        if args.warmup < len(languages):  # a group's first step allocates its optimiser state: keep it untimed
            parser.error(f"--warmup must be at least the number of languages ({len(languages)}), got {args.warmup}")
        tokenizer = train_text_tokenizer(train_set["text"], vocab_size=260)
        stats = compute_pose_stats(train_set) | {"fps": float(train_set[0]["fps"])}

        # The shared batches: language-homogeneous (as the Trainer's), drawn once, as dataset rows.
        generator = torch.Generator().manual_seed(0)
        rows_by_language = {lang: [i for i, x in enumerate(train_set["language"]) if x == lang] for lang in languages}
        batches = []
        for step in range(args.steps + args.warmup):
            rows = rows_by_language[languages[step % len(languages)]]
            chosen = torch.randperm(len(rows), generator=generator)[: args.batch_size].tolist()
            batches.append([rows[i] for i in chosen])
        collator = SignLLMDataCollator(tokenizer=tokenizer)
        collated = []
        for batch in batches:
            collated.append(collator([train_set[i] for i in batch]))
            collated[-1].pop("sample_index", None)

        rates = {name: [] for name in (PLAIN, *MODES)}
        for _ in range(args.repeats):
            rates[PLAIN].append(plain_pytorch(build_model(args, tokenizer, languages, stats), collated, args))
            for name, (mode, shared) in MODES.items():
                model = build_model(args, tokenizer, languages, stats)
                rate = with_trainer(model, tokenizer, train_set, mode, batches if shared else None, args, workdir)
                rates[name].append(rate)

    model = build_model(args, tokenizer, languages, stats)
    per_language = sum(p.numel() for p in model.groups[languages[0]].parameters()) / 1e6
    print(
        header(
            f"Preset {args.preset} ({per_language:.1f}M parameters per language), batch {args.batch_size}, "
            f"{args.steps} timed steps after {args.warmup} warm-up steps per run, {args.repeats} interleaved repeats, "
            f"AdamW {args.optim} in every row, corpus "
            f"{Path(corpus).name if args.corpus else 'fingerspelling (ase, gsg, tsm)'}. Cells: median (min-max) "
            "over the repeats."
        )
    )
    print("| loop | batches | frames/s | steps/s | plain / this (frames/s, medians) |")
    print("|---|---|---|---|---|")
    plain = statistics.median(frames for frames, _ in rates[PLAIN])
    for name, values in rates.items():
        shared = name == PLAIN or MODES[name][1]
        frames = statistics.median(f for f, _ in values)
        print(
            f"| {name} | {'shared' if shared else 'its own'} | {spread([f for f, _ in values], 0)} | "
            f"{spread([s for _, s in values], 3)} | {plain / frames:.2f}x |"
        )


if __name__ == "__main__":
    main()
