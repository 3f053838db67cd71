"""Losses, one a file, each documented by what it computes."""
from .infonce import info_nce

__all__ = ["info_nce"]
