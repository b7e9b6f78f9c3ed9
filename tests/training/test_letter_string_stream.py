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
