"""Compression: pruning (unstructured and real channel removal), torchao int8, half precision, distillation."""

from ..models import requantize
from ._lm import lm_test_blocks
from ._methods import (
    COMPRESSION_METHODS,
    METHODS,
    CompressionMethod,
    CompressResult,
    compress,
    compress_many,
    parse_method,
    register_method,
)

__all__ = ["COMPRESSION_METHODS", "METHODS", "CompressResult", "CompressionMethod", "compress", "compress_many",
           "lm_test_blocks", "parse_method", "register_method", "requantize"]
