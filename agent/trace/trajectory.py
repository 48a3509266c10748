"""An episode's record: tokens, how it ended, what it cost. JSON-able, versioned, checked on load.

Holds only what is needed to reproduce and inspect the episode (tokens and the prompt length,
from which the codec derives every segment, tool call and the answer); never the policy's
decoding state (DESIGN.md). ``tokens`` is an ``array('H')``, 2 bytes a token
(``agent/trace/tokens.py``; any sequence of ids given is copied into one).

File format, version 2: the fields as JSON, ``tokens`` in the compact encoding of
``agent/trace/tokens.py`` (zlib'd uint16, ~0.45 bytes a token). Version 1 (``tokens`` a JSON list,
~4.6 bytes a token) is still read. A file is untrusted input: ``load`` refuses one larger than
``max_bytes`` before reading it and checks every field (``agent/trace/schema.py``) before anything
is built on it; every problem is one ``ValueError`` that names the file.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field, fields

from . import tokens as compact
from .schema import MAX_FILE_BYTES, check_trajectory, read_json

FORMAT = "tapehead-trajectory"
VERSION = 2
READS = (1, 2)  # versions load() reads

EXIT_STATUSES = ("eos", "max_tokens", "max_tool_calls", "malformed", "error")


@dataclass
class Trajectory:
    task: str
    input: str
    prompt_len: int
    tokens: array  # token ids, array('H')
    answer: str = ""
    exit: str = "eos"
    counts: dict = field(default_factory=dict)  # generated, observations, tool_calls, thoughts, outputs, malformed
    seconds: float = 0.0
    policy: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.tokens, array) or self.tokens.typecode != compact.TYPECODE:
            self.tokens = compact.token_array(self.tokens)

    @property
    def generated(self) -> int:
        return len(self.tokens) - self.prompt_len

    def to_json(self) -> dict:
        """The file's JSON: the fields by hand (``dataclasses.asdict`` would deep-copy every token),
        the tokens compact."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["tokens"] = compact.encode(self.tokens)
        d["format"], d["version"] = FORMAT, VERSION
        return d

    @classmethod
    def from_json(cls, data, *, vocab_size: int | None = None, where: str = "trajectory") -> "Trajectory":
        """A trajectory from untrusted JSON, every field checked (token ids against ``vocab_size``:
        by default our vocabulary's)."""
        if vocab_size is None:
            from tapehead.agent import models

            vocab_size = models.vocab().size
        return cls(**check_trajectory(data, fmt=FORMAT, versions=READS, vocab_size=vocab_size, where=where))

    def save(self, path: str) -> None:
        """Atomic write (temp file + rename): a crash never leaves a half-written trajectory."""
        from .trajectory_file import write_trajectory

        write_trajectory(path, self)

    @classmethod
    def load(cls, path: str, *, max_bytes: int = MAX_FILE_BYTES, vocab_size: int | None = None) -> "Trajectory":
        return cls.from_json(read_json(path, "trajectory", max_bytes), vocab_size=vocab_size, where=str(path))
