"""An episode's record: tokens, how it ended, what it cost. JSON-able, versioned.

Holds only what is needed to reproduce and inspect the episode (tokens and the prompt length,
from which the codec derives every segment, tool call and the answer); never the policy's
decoding state (DESIGN.md).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field

FORMAT = "tapehead-trajectory"
VERSION = 1

EXIT_STATUSES = ("eos", "max_tokens", "max_tool_calls", "malformed", "error")


@dataclass
class Trajectory:
    task: str
    input: str
    prompt_len: int
    tokens: list[int]
    answer: str = ""
    exit: str = "eos"
    counts: dict = field(default_factory=dict)  # generated, observations, tool_calls, thoughts, outputs, malformed
    seconds: float = 0.0
    policy: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def generated(self) -> int:
        return len(self.tokens) - self.prompt_len

    def to_json(self) -> dict:
        d = asdict(self)
        d["format"], d["version"] = FORMAT, VERSION
        return d

    @classmethod
    def from_json(cls, data: dict) -> "Trajectory":
        if data.get("format") != FORMAT:
            raise ValueError(f"not a tapehead trajectory (format {data.get('format')!r})")
        if data.get("version") != VERSION:
            raise ValueError(f"trajectory version {data.get('version')} is not supported (this tapehead reads {VERSION})")
        d = {k: v for k, v in data.items() if k not in ("format", "version")}
        return cls(**d)

    def save(self, path: str) -> None:
        """Atomic write (temp file + rename): a crash never leaves a half-written trajectory."""
        d = os.path.dirname(os.path.abspath(path))
        os.makedirs(d, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d, prefix=".traj-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(self.to_json(), f)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str) -> "Trajectory":
        with open(path) as f:
            return cls.from_json(json.load(f))
