"""Scratch memories: the pointer tape and the search memory over the same symbol list."""

from .pointer_tape import PointerTape
from .search_memory import SearchMemory

__all__ = ["PointerTape", "SearchMemory"]
