"""signllm-hf: SignLLM (multilingual sign language production) as a Hugging Face transformers plugin.

Example:
    >>> import signllm_hf
    >>> signllm_hf.__version__ != ""
    True
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("signllm-hf")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"
