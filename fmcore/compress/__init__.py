"""Compression: pruning (unstructured and real channel removal), torchao int8, half precision, distillation."""

from ._methods import METHODS, CompressResult, compress, compress_many, parse_method, requantize

__all__ = ["METHODS", "CompressResult", "compress", "compress_many", "parse_method", "requantize"]
