"""Test-wide environment, for tests/ and the package's doctests alike: never touch the network, never share the
user's datasets cache. Set before anything imports `datasets` or `huggingface_hub`."""

import os
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("HF_DATASETS_CACHE", tempfile.mkdtemp(prefix="signllm-test-datasets-"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
