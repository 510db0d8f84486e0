"""Compression: pruning (unstructured and real channel removal), torchao int8, half precision, distillation."""

from ..models import requantize
from ._methods import METHODS, CompressResult, compress, compress_many, parse_method

__all__ = ["METHODS", "CompressResult", "compress", "compress_many", "parse_method", "requantize"]
