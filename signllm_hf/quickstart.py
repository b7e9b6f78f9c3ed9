"""``signllm quickstart``: from nothing to a trained, evaluated signer on the CPU in about ten minutes.

1. builds the fingerspelling corpus for a few languages (real MediaPipe letter clips, see ``signllm corpus``);
2. trains a letter reader (poses -> letters), the legibility judge, on random letter strings;
3. trains a small MLSF SignLLM model (one encoder-decoder per language), each batch's language drawn by its running
   loss (``language_priority``), so the hardest alphabet gets the most steps;
4. signs the word you give: a GIF and a ``.pose`` file;
5. evaluates on the test split's words (never seen in training) and on random letter strings: DTW, and the
   letters the reader reads back (CER, WER), with the reader's calibration on the reference poses.

Each training stage stops at its time budget (the progress bars show it). Everything lands in ``--workdir``.
"""

from __future__ import annotations

import time
from pathlib import Path

from .data.corpora.fingerspelling import build_fingerspelling_corpus
from .data.dataset import read_stats
from .data.languages import canonical_language
from .evaluation import evaluate_model, format_table
from .training import DataArguments, ModelArguments, SignLLMTrainingArguments, train
from .training.letter_reader import train_letter_reader

# The signer: Base's layout (2 + 2 layers, 4 heads) at a quarter of its width (recipes/configs/tiny_cpu.yaml), bytes
# as tokens (a vocabulary of 260: letters), and what made its spelling most legible in the same training steps
# (benchmarks/results/legibility/legibility.md): letters aligned to frames by predicted durations, every frame written
# in one parallel pass (nothing fed back to drift on), a loss on the hands' shapes relative to their wrists, and
# training on the letter-string stream (half training words, half random strings, spelled on the fly).
SIGNER = {
    "preset": "base",
    "d_model": 128,
    "ffn_dim": 512,
    "attention_heads": 4,
    "dropout": 0.1,
    "max_frames": 250,
    "decoder_input": "position",
    "future_prediction": 3,
    "counter_loss_weight": 10.0,
    "alignment": "duration",
    "decoding": "parallel",
    "hand_loss_weight": 1.0,
}

READER_SHARE, SIGNER_SHARE = 0.2, 0.6  # of the time budget


def run_quickstart(
    workdir: str = "signllm-quickstart",
    word: str = "hello",
    language: str = "ase",
    languages: tuple[str, ...] = ("ase", "gsg", "tsm"),
    minutes: float = 10.0,
    eval_clips: int = 60,
    progress: bool = True,
    random_strings: int = 20,
) -> dict:
    """Run the five steps; returns the evaluation (also in ``workdir/evaluation.json``).

    ``minutes`` is the time budget of the whole run: the letter reader trains for ``READER_SHARE`` of it and the
    signer for ``SIGNER_SHARE``; building the corpus, signing and evaluating take the rest. Steps whose output is
    already in ``workdir`` are skipped, so an interrupted run continues where it stopped.
    """
    if minutes <= 0:
        raise ValueError(f"--minutes must be > 0, got {minutes}")
    language, languages = canonical_language(language), tuple(canonical_language(code) for code in languages)
    if language not in languages:
        raise ValueError(f"--language {language!r} is not one of the trained languages {list(languages)}")
    started = time.perf_counter()
    workdir = Path(workdir)
    corpus, judge, signer = workdir / "corpus", workdir / "letter-reader", workdir / "signer"
    budget = minutes * 60

    print(f"[1/5] fingerspelling corpus for {', '.join(languages)} -> {corpus}")
    if not (corpus / "stats.json").is_file():
        build_fingerspelling_corpus(corpus, languages=list(languages), progress=progress)
    elif sorted(built := read_stats(corpus)["languages"]) != sorted(languages):
        raise ValueError(
            f"{workdir} holds a quickstart for {sorted(built)}, not {list(languages)}: "
            f"pass another --workdir (or delete this one)"
        )

    print(f"[2/5] letter reader (poses -> letters), {READER_SHARE * budget / 60:.1f} min -> {judge}")
    if not (judge / "config.json").is_file():
        train_letter_reader(
            str(judge), languages=list(languages), max_steps=100_000, seconds=READER_SHARE * budget, progress=progress
        )

    print(f"[3/5] SignLLM signer (MLSF, {len(languages)} languages), {SIGNER_SHARE * budget / 60:.1f} min -> {signer}")
    if not (signer / "config.json").is_file():
        args = SignLLMTrainingArguments(
            output_dir=str(signer),
            max_steps=100_000,
            per_device_train_batch_size=16,
            learning_rate=1e-3,  # twice tiny_cpu.yaml's: parallel decoding learns faster with it (legibility_steps.md)
            warmup_steps=50,
            lr_scheduler_type="constant_with_warmup",
            language_priority=1.0,  # hard alphabets (TSL) get more of the steps (legibility/language_priority.md)
            logging_steps=50,
            save_strategy="no",
            eval_strategy="no",
            report_to=[],
            disable_tqdm=True,
            use_cpu=True,
        )
        data = DataArguments(dataset=str(corpus), eval_split="none", tokenizer_vocab_size=260, letter_strings=True)
        model = ModelArguments(**SIGNER)
        train(data, model, args, seconds=SIGNER_SHARE * budget, progress=progress)

    print(f"[4/5] signing {word!r} in {language}")
    from transformers import pipeline  # noqa: PLC0415 - heavy, only now

    signer_pipeline = pipeline("text-to-pose", model=str(signer), device="cpu")
    result = signer_pipeline(
        word, language=language, gif_path=workdir / f"{word}.gif", pose_path=workdir / f"{word}.pose"
    )
    print(f"      {len(result['pose'])} frames -> {result['gif_path']}, {result['pose_path']}")

    print(f"[5/5] evaluation: the test split's words and {random_strings} random letter strings per language")
    evaluation = evaluate_model(
        str(signer),
        str(corpus),
        split="test",
        max_clips=eval_clips,
        output=str(workdir / "evaluation.json"),
        letter_reader=str(judge),
        random_strings=random_strings,
    )
    print(format_table(evaluation))
    print(f"done in {(time.perf_counter() - started) / 60:.1f} min; everything is in {workdir}")
    return evaluation
