"""The option schema of every ``tapehead`` command: each option declared once, with its type and bounds.

Every command module -- the agent's own (``run``, ``sessions``, ``replay``, ``config``), the evals'
(``solve``, ``eval``, ``eval suite``, ``train``) and any new one (``policies``,
``accept``/``undo``/``discard``, ``fix``, ``bench``, ``tui``) -- adds its options through this
module, so a numeric or constrained option is validated in exactly one place, and the configuration
file (``agent/cli/config.py``) and the Python API (``Agent``) check values with the same
declarations:

- the value types (``agent/cli/values.py``, re-exported here): ``positive_int``, ``nonneg_int``,
  ``integer(lo, hi)``, ``number(lo, hi)``, ``int_list``, ``name_list``, ``existing_dir``,
  ``existing_file``, ``out_file``, ``out_dir``, ``db_file``, ``device``, ``thread_id``, ``id_prefix``,
  ``approval_answer``, ``approval_modes``, ``boolean``, ``text``: ``type=`` callables for argparse;
  ``.typed(obj)`` for a TOML or Python value;
- ``SCHEMA``: option name -> ``Option`` (flags, type, default, help, config key);
  ``add(parser, "threads", "device", ...)`` adds them (keyword overrides for a command's own default,
  help or flags), tagging each argparse action with its config key so that ``config.apply`` can put
  the configured value in as the default (flags override it; ``--help`` shows it and its file), and
  recording which flags were given (``given(args, dest)``);
- ``read_input(value, max_bytes)``: a task input given as text, ``@FILE`` or ``-`` (stdin), read
  with a size limit; ``apply_threads(args)``: torch's CPU threads.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from .values import (  # noqa: F401  (re-exported: the one module commands use)
    Bad, Boolean, Checked, Choice, Device, Integer, IntList, NameList, Number, PathCheck, Text, Type, approval_answer,
    approval_modes, boolean, db_file, device, existing_dir, existing_file, id_prefix, int_list, integer, name_list,
    nonneg_int, number, out_dir, out_file, positive_int, task_names, text, thread_id)


# --- the declarations ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Option:
    flags: tuple[str, ...]
    type: Type | None  # None: a switch (store_true)
    default: Any = None
    help: str = ""
    metavar: str | None = None
    key: str | None = None  # the configuration file's key (agent/cli/config.py), when it has one
    extra: dict = field(default_factory=dict)  # more add_argument keywords (required, nargs, ...)


# Bounds: the lower one is what makes sense (a count of 0 loops for ever or does nothing); the upper
# one stops a typo from allocating gigabytes (d_model 10^9) or running for a year.
_BIG = 10**9
DEFAULT_THREADS = 1  # measured: docs/benchmarks.md, "CPU threads"
SCHEMA: dict[str, Option] = {
    # the run of a model
    "device": Option(("--device",), device, "cpu", "torch device: cpu, cuda, cuda:N", key="device"),
    "threads": Option(("--threads",), integer(1, 1024), DEFAULT_THREADS,
                      "torch CPU threads (measured: docs/benchmarks.md, CPU threads; with --device cuda torch's own "
                      "unless given)", "N", key="threads"),
    "policy": Option(("--policy",), text, None, "a checkpoint path (no suffix) or a shipped policy's name; "
                     "default: the configured one for the task ([policy] TASK), else the task's shipped one"),
    "json": Option(("--json",), None, False, "print one JSON object (machine output)"),
    "trace": Option(("--trace",), None, False, "print the coloured trace (thoughts, commands, observations, outputs)"),
    # limits of one episode / run (agent/loops/episode.py Limits)
    "max_tokens": Option(("--max-tokens",), integer(1, _BIG), None,
                         "stop after this many tokens after the input (default: the task's bound)", "N",
                         key="limits.max_tokens"),
    "max_steps": Option(("--max-steps",), integer(1, _BIG), None, "graph steps", "N", key="limits.max_steps"),
    "max_tool_calls": Option(("--max-tool-calls",), integer(1, _BIG), None, "tool calls, tape commands included",
                             "N", key="limits.max_tool_calls"),
    "max_seconds": Option(("--max-seconds",), number(0, 10**7, lo_open=True), None, "running time in seconds",
                          "S", key="limits.max_seconds"),
    "max_malformed": Option(("--max-malformed",), integer(1, 10**6), None,
                            "consecutive malformed outputs (default 3)", "N", key="limits.max_malformed"),
    "step_tokens": Option(("--step-tokens",), integer(1, 1 << 20), 2048, "tokens decoded per graph step "
                          "(a checkpoint each)", "N", key="limits.step_tokens"),
    # sessions
    "db": Option(("--db",), db_file, None, "sessions database (default: TAPEHEAD_HOME/sessions.sqlite)", "FILE"),
    "thread": Option(("--thread",), thread_id, None, "the new session's id (letters, digits, ._-; "
                     "default: time + random)", "ID"),
    "resume": Option(("--resume",), id_prefix, None, "continue session ID (after a kill, or to answer an "
                     "approval); a unique prefix is enough", "ID"),
    "answer": Option(("--answer",), approval_answer, None, "with --resume: the answer to the pending approval: "
                     "yes or no, or '{\"approve\": true, \"note\": \"...\"}'", "ANSWER"),
    "workspace": Option(("--workspace",), existing_dir, None, "give the agent the workspace tools on a scratch "
                        "copy of this directory", "DIR"),
    "approve": Option(("--approve",), approval_modes, None, "approval modes per category (read, edit, exec, git, "
                      "all): confirm or yolo, over the configured ones", "CAT=MODE,..."),
    "yes": Option(("--yes", "-y"), None, False, "do it without asking"),
    # evaluation
    "sizes": Option(("--sizes",), int_list(1, 10**8), "5,10,100,1000", "comma-separated sizes", "N,N,..."),
    "n": Option(("--n",), integer(1, 10**7), 100, "random problems per size", "N"),
    "n_large": Option(("--n-large",), integer(1, 10**7), None, "problems per size for sizes >= --large-from "
                      "(default: --n)", "N"),
    "large_from": Option(("--large-from",), integer(1, 10**8), 2000, "the size from which --n-large applies",
                         "N"),
    "eval_batch": Option(("--batch",), integer(1, 1 << 16), 64, "episodes decoded in lockstep", "B"),
    "seed": Option(("--seed",), nonneg_int, 0, "random seed", "N"),
    "stop_below": Option(("--stop-below",), number(0, 1), None, "skip the larger sizes once a size scores below "
                         "this on answers and trajectories (listed as not run)", "FRACTION"),
    "workers": Option(("--workers",), integer(0, 1024), 0, "processes building training traces (0: inline)", "N"),
    # training
    "steps": Option(("--steps",), integer(1, _BIG), 2000, "training steps", "N"),
    "train_batch": Option(("--batch",), integer(1, 1 << 20), 128, "training batch (rows per step)", "B"),
    "lr": Option(("--lr",), number(0, 10, lo_open=True), 3e-3, "peak learning rate", "LR"),
    "micro_tokens": Option(("--micro-tokens",), integer(0, 1 << 40), 0, "split a step into micro-batches of rows "
                           "of similar length, each at most this many padded tokens (0: one batch per step)", "N"),
    "train_size": Option(("--train-size",), integer(1, 10**6), None, "train on sizes up to this instead of each "
                         "task's own (cells named ARCH-nN)", "N"),
    "max_size": Option(("--max-size",), integer(1, 10**6), None, "largest training size (default: the task's)", "N"),
    "seq_len": Option(("--seq-len",), integer(0, 1 << 24), 0, "longest training trace (0: the task's bound)", "N"),
    "weight_decay": Option(("--weight-decay",), number(0, 10), 0.01, "AdamW weight decay", "W"),
    "warmup": Option(("--warmup",), integer(0, _BIG), 100, "warmup steps (at most a tenth of --steps)", "N"),
    "d_model": Option(("--d-model",), integer(1, 1 << 16), 256, "model width", "N"),
    "layers": Option(("--layers",), integer(1, 1024), 4, "layers", "N"),
    "d_state": Option(("--d-state",), integer(1, 4096), 64, "Mamba-2 SSM state size per head", "N"),
    "headdim": Option(("--headdim",), integer(1, 4096), 64, "Mamba-2 head dimension", "N"),
    "chunk_size": Option(("--chunk-size",), integer(1, 1 << 16), 64, "Mamba-2 SSD scan chunk", "N"),
    "checkpoint_every": Option(("--checkpoint-every",), integer(0, _BIG), 500,
                               "steps between checkpoints (0: only when the run stops)", "N"),
    "val_every": Option(("--val-every",), integer(0, _BIG), 250, "steps between validations (0: only at the end)",
                        "N"),
    "log_every": Option(("--log-every",), integer(0, _BIG), 50, "steps per log line and --out/metrics.jsonl row "
                        "(0: none)", "N"),  # for the pkg branch's train --log-every
}


class _Store(argparse._StoreAction):
    """argparse's store, remembering that the flag was on the command line (``given``)."""

    def __call__(self, parser, namespace, values, option_string=None):
        super().__call__(parser, namespace, values, option_string)
        _mark(namespace, self.dest)


class _StoreTrue(argparse._StoreTrueAction):
    def __call__(self, parser, namespace, values, option_string=None):
        super().__call__(parser, namespace, values, option_string)
        _mark(namespace, self.dest)


def _mark(namespace, dest: str) -> None:
    given = getattr(namespace, "given_flags", None)
    if given is None:
        given = set()
        setattr(namespace, "given_flags", given)
    given.add(dest)


def given(args, dest: str) -> bool:
    """Was option ``dest`` on the command line (rather than its default, or the configured one)?
    E.g. a resumed session keeps its recorded limits unless a flag says otherwise."""
    return dest in (getattr(args, "given_flags", None) or ())


def add(p, *names: str, **overrides) -> None:
    """Add the declared options ``names`` to parser ``p``. ``overrides``: ``NAME_default=``,
    ``NAME_help=``, ``NAME_required=``, ``NAME_flags=``, ``NAME_dest=`` (e.g. ``add(p, "steps",
    steps_default=2000)``); an unknown override is a TypeError (a typo must not pass silently)."""
    known = {f"{n}_{k}" for n in names for k in ("default", "help", "required", "flags", "dest")}
    if set(overrides) - known:
        raise TypeError(f"options.add: unknown override(s) {sorted(set(overrides) - known)}")
    for name in names:
        opt = SCHEMA[name]
        kw = dict(opt.extra)
        kw["default"] = overrides.get(f"{name}_default", opt.default)
        kw["help"] = overrides.get(f"{name}_help", opt.help)
        if f"{name}_required" in overrides:
            kw["required"] = overrides[f"{name}_required"]
        if opt.type is None:
            kw["action"] = _StoreTrue
        else:
            kw["action"] = _Store
            kw["type"] = opt.type
            kw["metavar"] = opt.metavar or name.upper()
        if f"{name}_dest" in overrides:
            kw["dest"] = overrides[f"{name}_dest"]
        action = p.add_argument(*overrides.get(f"{name}_flags", opt.flags), **kw)
        action.config_key = opt.key


# --- input and threads -----------------------------------------------------------------------------------
def max_input_bytes(args) -> int:
    """The input-size limit of this command (``agent/loops/episode.py``'s, checked by every loop):
    ``TAPEHEAD_MAX_INPUT_BYTES`` when set, else the configuration's ``max_input_bytes``, else 1 MiB."""
    from tapehead.agent.loops.episode import MAX_INPUT_ENV, default_max_input_bytes

    if os.environ.get(MAX_INPUT_ENV):
        return default_max_input_bytes()
    return args.settings.get("max_input_bytes")



def read_input(value: str | None, max_bytes: int, what: str = "input") -> str:
    """A task's input as given: the text itself, ``@FILE`` (read from a file) or ``-`` (read from
    stdin), at most ``max_bytes`` bytes (read no further, so a huge file costs nothing). ValueError
    with one line otherwise."""
    if value is None:
        raise ValueError(f"give the {what}")
    if value == "-":
        data = sys.stdin.buffer.read(max_bytes + 1) if hasattr(sys.stdin, "buffer") else sys.stdin.read(max_bytes + 1).encode()
        source = "stdin"
    elif value.startswith("@"):
        path = os.path.expanduser(value[1:])
        if not path or not os.path.exists(path):
            raise ValueError(f"no such input file: {value[1:]!r}")
        if not os.path.isfile(path):  # a directory, a device (@/dev/zero), a FIFO: never read
            raise ValueError(f"input file {value[1:]!r} is " + ("a directory" if os.path.isdir(path)
                                                                else "not a regular file (use - for stdin)"))
        try:
            with open(path, "rb") as f:
                data = f.read(max_bytes + 1)
        except OSError as e:
            raise ValueError(f"cannot read input file {value[1:]!r}: {e.strerror}") from None
        source = value[1:]
    else:
        data = value.encode("utf-8", "surrogateescape")
        source = "the command line"
    if len(data) > max_bytes:
        raise ValueError(f"the {what} from {source} is over the input-size limit of {max_bytes:,} bytes; "
                         f"raise it with max_input_bytes in the configuration (tapehead config) or "
                         f"TAPEHEAD_MAX_INPUT_BYTES")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"the {what} from {source} is not UTF-8 text (byte {e.start})") from None


def apply_threads(args) -> int | None:
    """Set torch's intra-op CPU threads from ``args.threads`` (the measured default, the configured
    value or the flag); returns the number set. With a GPU (``args.device`` not cpu) the default is
    torch's own, since the measurement was of CPU decoding: only a configured value or the flag
    sets it."""
    import torch

    n = getattr(args, "threads", None)
    if n is None or (getattr(args, "device", "cpu") != "cpu" and not given(args, "threads")
                     and "threads" not in getattr(args, "configured", {})):
        return None
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
