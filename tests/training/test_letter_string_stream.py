"""The letter-string stream under several processes: each keeps its own rows, all train one language per step."""

import pytest
from accelerate.data_loader import IterableDatasetShard

from signllm_hf.cli import main
from signllm_hf.training.arguments import SignLLMTrainingArguments
from signllm_hf.training.run import letter_string_stream

pytest.importorskip("spoken_to_signed")


def test_processes_share_the_language_of_a_step_but_not_its_rows(tmp_path):
    from signllm_hf.data.corpora.letter_strings import LetterStrings  # noqa: PLC0415

    strings = LetterStrings(languages=["ase", "gsg", "tsm"], seed=0)
    args = SignLLMTrainingArguments(
        output_dir=str(tmp_path), per_device_train_batch_size=3, max_steps=10, use_cpu=True
    )
    args._n_gpu, world = 0, 2
    stream = letter_string_stream(strings, args)
    assert args.accelerator_config.dispatch_batches is False  # dispatching would concatenate unequal batches
    stream.batch_size = 3 * world  # what world_size 2 gives (this test runs in one process)
    shards = [IterableDatasetShard(stream, batch_size=3, num_processes=world, process_index=r) for r in range(world)]
    iterators = [iter(shard) for shard in shards]
    languages = set()
    for _ in range(8):  # steps
        batches = [[next(iterator) for _ in range(3)] for iterator in iterators]
        step_languages = {row["language"] for batch in batches for row in batch}
        assert len(step_languages) == 1  # every process trains the same group
        texts = [[row["text"] for row in batch] for batch in batches]
        assert texts[0] != texts[1]  # but on its own rows
        languages |= step_languages
    assert len(languages) > 1


def test_a_stream_needs_max_steps(tmp_path, capsys):
    from tests.training.test_entry_points import tiny_cli  # noqa: PLC0415

    corpus = tmp_path / "fs"
    assert (
        main(["corpus", "fingerspelling", str(corpus), "--languages", "ase", "--words-per-language", "12", "--quiet"])
        == 0
    )
    arguments = ["train", "--dataset", str(corpus), "--output_dir", str(tmp_path / "run"), "--letter_strings", "true"]
    assert main([*arguments, *tiny_cli(max_steps=-1)]) == 2
    assert "--letter_strings streams without end: pass --max_steps" in capsys.readouterr().err


def test_language_priority_draws_hard_languages_and_the_trainer_keeps_it_up_to_date(tmp_path):
    import torch  # noqa: PLC0415

    from signllm_hf.data.corpora.letter_strings import LetterStrings  # noqa: PLC0415
    from signllm_hf.training.trainer import SignLLMTrainer  # noqa: PLC0415
    from tests.training.helpers import tiny_data, tiny_model  # noqa: PLC0415

    strings = LetterStrings(languages=["ase", "gsg"], seed=0)
    args = SignLLMTrainingArguments(
        output_dir=str(tmp_path), per_device_train_batch_size=2, max_steps=10, use_cpu=True, language_priority=1.0
    )
    stream = letter_string_stream(strings, args)
    priority = stream.language_priority
    assert priority.probabilities().tolist() == [0.5, 0.5]  # nothing observed yet: uniform
    priority.update({"ase": 1e-4, "gsg": 1.0})  # ASL nearly learnt, DGS not
    rows = [row for _, row in zip(range(20), stream)]
    assert [row["language"] for row in rows] == ["gsg"] * 20

    train, _, tokenizer = tiny_data()
    model = tiny_model(train, tokenizer, dropout=0.0)
    trainer = SignLLMTrainer(model=model.train(), args=args, train_dataset=stream, processing_class=tokenizer)
    assert trainer.language_priority is priority
    rng = strings.rng(1)
    batch = trainer.data_collator([strings.sample(rng, code) for code in ("ase", "gsg", "gsg", "ase")])
    priority.losses.clear()
    with torch.no_grad():
        trainer.compute_loss(model, dict(batch))
        outputs = model(**batch)
    errors, mask = outputs.frame_errors, batch["frame_mask"].float()
    for code, rows in (("ase", [0, 3]), ("gsg", [1, 2])):  # each language's mean frame error over its real frames
        expected = float((errors[rows] * mask[rows]).sum() / mask[rows].sum())
        assert priority.losses[code] == pytest.approx(expected, rel=1e-5)
    assert priority.losses["ase"] != pytest.approx(priority.losses["gsg"], rel=1e-3)

    from signllm_hf.data.corpora.letter_strings import LetterStringDataset  # noqa: PLC0415

    with pytest.raises(ValueError, match="needs --language_batches true"):
        LetterStringDataset(strings, batch_size=2, language_batches=False, language_priority=priority)
    args.dataloader_num_workers = 2
    with pytest.raises(ValueError, match="set --dataloader_num_workers 0"):
        SignLLMTrainer(model=model, args=args, train_dataset=stream, processing_class=tokenizer)


def test_language_priority_follows_the_running_loss():
    from signllm_hf.training.plc import LanguagePriority  # noqa: PLC0415

    priority = LanguagePriority(["ase", "gsg"], eta=2.0, decay=0.5)
    priority.update({"ase": 0.2, "gsg": 0.4})
    priority.update({"gsg": 0.2})  # gsg's running loss: 0.5 * 0.4 + 0.5 * 0.2 = 0.3
    assert priority.losses == pytest.approx({"ase": 0.2, "gsg": 0.3}) and priority.batches == {"ase": 1, "gsg": 2}
    assert priority.probabilities().tolist() == pytest.approx([0.04 / 0.13, 0.09 / 0.13])  # squared (eta 2)
    assert LanguagePriority(["ase", "gsg"], eta=0.0).probabilities().tolist() == [0.5, 0.5]
    with pytest.raises(ValueError, match="not one of this stream's"):
        priority.update({"tsm": 0.1})
    with pytest.raises(ValueError, match="`language_priority` must be >= 0"):
        SignLLMTrainingArguments(output_dir="unused", language_priority=-1.0)
