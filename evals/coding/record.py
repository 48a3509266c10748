"""Benchmark files in the SWE-bench shape: instance JSONL and prediction JSONL.

Convention (SWE-bench's dataset and prediction formats, with the repository carried in the record
because there is no upstream git repository to clone): one JSON object per line,

- instance: ``instance_id``, ``problem_statement`` (the policy's input), ``repo`` (the buggy
  repository: a ``{path: text}`` object when ``repo_format`` is ``"files"``, or a base64 gzipped
  tar when it is ``"tar.gz+base64"``, for binary files or executable bits), ``FAIL_TO_PASS`` (the
  check commands: each fails before the fix and must exit 0 after), ``PASS_TO_PASS`` (commands that
  must keep exiting 0; empty for generated instances), ``patch`` (the gold ``git diff``), and ours:
  ``expected_stdout`` (the hidden check: the stdout of the first FAIL_TO_PASS command, stderr
  discarded, must equal it; ``null``: no hidden check), ``necessary`` (``"path::qualname"`` of the
  functions a minimal fix changes; ``null``: unknown), ``size``, ``family``, ``style``,
  ``timeout_s``. SWE-bench's JSON-encoded-string form of the two test lists is read too.
- prediction: ``instance_id``, ``model_name_or_path``, ``model_patch`` (a ``git diff``).

Reading instances is strict (a bad record is a user error naming its line); reading predictions is
tolerant: a bad line becomes a problem reported for that line, never a crash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from tapehead.agent.trace.trajectory_file import write_text_atomic
from .repo_files import RepoRefused, check_files, decode_archive, encode_archive, texts

FORMATS = ("files", "tar.gz+base64")


class BadRecord(ValueError):
    pass


@dataclass(frozen=True)
class BenchInstance:
    instance_id: str
    problem_statement: str
    files: dict[str, bytes]
    fail_to_pass: tuple[str, ...]
    pass_to_pass: tuple[str, ...] = ()
    patch: str = ""
    expected_stdout: str | None = None
    necessary: tuple[str, ...] | None = None
    size: int | None = None
    family: str | None = None
    style: str | None = None
    executable: frozenset[str] = frozenset()
    timeout_s: float = 60.0
    extra: dict = field(default_factory=dict)  # fields we do not know, kept on rewrite

    @property
    def check(self) -> str:
        return self.fail_to_pass[0]

    def texts(self) -> dict[str, str]:
        return texts(self.files)

    def to_json(self, archive: bool | None = None) -> dict:
        """``archive`` None: the files object when every file is UTF-8 text and none is executable."""
        if archive is None:
            archive = bool(self.executable) or len(self.texts()) != len(self.files)
        repo = encode_archive(self.files, self.executable) if archive else self.texts()
        out = {"instance_id": self.instance_id, "problem_statement": self.problem_statement,
               "repo_format": FORMATS[1] if archive else FORMATS[0], "repo": repo,
               "FAIL_TO_PASS": list(self.fail_to_pass), "PASS_TO_PASS": list(self.pass_to_pass),
               "patch": self.patch, "expected_stdout": self.expected_stdout,
               "necessary": None if self.necessary is None else list(self.necessary),
               "size": self.size, "family": self.family, "style": self.style, "timeout_s": self.timeout_s}
        return {**self.extra, **out}

    @classmethod
    def from_json(cls, obj: object) -> "BenchInstance":
        if not isinstance(obj, dict):
            raise BadRecord("an instance must be a JSON object")
        iid = obj.get("instance_id")
        if not isinstance(iid, str) or not iid.strip():
            raise BadRecord("instance_id must be a non-empty string")
        ps = obj.get("problem_statement")
        if not isinstance(ps, str):
            raise BadRecord(f"{iid}: problem_statement must be a string")
        files, exe = _repo(obj, iid)
        f2p = _commands(obj.get("FAIL_TO_PASS"), "FAIL_TO_PASS", iid)
        if not f2p:
            raise BadRecord(f"{iid}: FAIL_TO_PASS needs at least one check command")
        p2p = _commands(obj.get("PASS_TO_PASS", []), "PASS_TO_PASS", iid)
        patch = obj.get("patch", "")
        expected = obj.get("expected_stdout")
        necessary = obj.get("necessary")
        timeout = obj.get("timeout_s", 60.0)
        if not isinstance(patch, str):
            raise BadRecord(f"{iid}: patch must be a string")
        if expected is not None and not isinstance(expected, str):
            raise BadRecord(f"{iid}: expected_stdout must be a string or null")
        if necessary is not None and not (isinstance(necessary, list) and all(isinstance(x, str) for x in necessary)):
            raise BadRecord(f"{iid}: necessary must be a list of strings or null")
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= 600:
            raise BadRecord(f"{iid}: timeout_s must be a number in (0, 600]")
        for key in ("size",):
            if obj.get(key) is not None and (not isinstance(obj[key], int) or isinstance(obj[key], bool)):
                raise BadRecord(f"{iid}: {key} must be an integer")
        known = {"instance_id", "problem_statement", "repo", "repo_format", "FAIL_TO_PASS", "PASS_TO_PASS", "patch",
                 "expected_stdout", "necessary", "size", "family", "style", "timeout_s"}
        return cls(iid, ps, files, f2p, p2p, patch, expected, None if necessary is None else tuple(necessary),
                   obj.get("size"), _opt_str(obj, "family"), _opt_str(obj, "style"), exe, float(timeout),
                   {k: v for k, v in obj.items() if k not in known})


def _repo(obj: dict, iid: str):
    fmt = obj.get("repo_format", "files")
    repo = obj.get("repo")
    try:
        if fmt == "files":
            if not isinstance(repo, dict) or not all(isinstance(v, str) for v in repo.values()):
                raise BadRecord(f"{iid}: repo must be an object of path -> text (repo_format \"files\")")
            files = {k: v.encode("utf-8") for k, v in repo.items()}
            check_files(files)
            return files, frozenset()
        if fmt == "tar.gz+base64":
            if not isinstance(repo, str):
                raise BadRecord(f"{iid}: repo must be a base64 string (repo_format \"tar.gz+base64\")")
            return decode_archive(repo)
    except RepoRefused as e:
        raise BadRecord(f"{iid}: repo refused: {e}") from None
    raise BadRecord(f"{iid}: unknown repo_format {fmt!r} (known: {', '.join(FORMATS)})")


def _commands(value, name: str, iid: str) -> tuple[str, ...]:
    if isinstance(value, str):  # SWE-bench stores the lists JSON-encoded
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            value = [value]
    if not isinstance(value, list) or not all(isinstance(c, str) and c.strip() for c in value):
        raise BadRecord(f"{iid}: {name} must be a list of non-empty command strings")
    return tuple(value)


def _opt_str(obj: dict, key: str) -> str | None:
    v = obj.get(key)
    return v if isinstance(v, str) else None


def json_lines(path: str, what: str):
    """``(line number, object, None)`` for each non-blank line, or ``(n, None, why)`` for one that is not JSON."""
    try:
        fh = open(path, encoding="utf-8", errors="replace")
    except OSError as e:
        raise FileNotFoundError(f"cannot read {what} file {path}: {e.strerror}") from None
    with fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield n, json.loads(line), None
            except json.JSONDecodeError as e:
                yield n, None, f"not JSON ({e.msg} at column {e.colno})"


def load_instances(path: str) -> list[BenchInstance]:
    """Every instance of a JSONL file; a bad line raises ``BadRecord`` naming the file and line."""
    out, seen = [], set()
    for n, obj, why in json_lines(path, "instances"):
        try:
            if why:
                raise BadRecord(why)
            inst = BenchInstance.from_json(obj)
        except BadRecord as e:
            raise BadRecord(f"{path}:{n}: {e}") from None
        if inst.instance_id in seen:
            raise BadRecord(f"{path}:{n}: duplicate instance_id {inst.instance_id!r}")
        seen.add(inst.instance_id)
        out.append(inst)
    if not out:
        raise BadRecord(f"{path}: no instances")
    return out


def write_jsonl(path: str, rows) -> None:
    """One JSON object per line, written atomically."""
    write_text_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def prediction(instance_id: str, model: str, patch: str) -> dict:
    return {"instance_id": instance_id, "model_name_or_path": model, "model_patch": patch}


def load_predictions(path: str) -> tuple[list[dict], list[dict]]:
    """(predictions, problems): each problem ``{"line", "instance_id", "reason"}`` is one line we could
    not take (not JSON, not an object, no instance_id, a duplicate); the first prediction of an id counts."""
    preds, problems, seen = [], [], set()
    for n, obj, why in json_lines(path, "predictions"):
        if why:
            problems.append({"line": n, "instance_id": None, "reason": why})
            continue
        iid = obj.get("instance_id") if isinstance(obj, dict) else None
        if not isinstance(iid, str):
            problems.append({"line": n, "instance_id": None, "reason": "not an object with a string instance_id"})
            continue
        if iid in seen:
            problems.append({"line": n, "instance_id": iid, "reason": "duplicate prediction (the first one is graded)"})
            continue
        seen.add(iid)
        preds.append({"line": n, "instance_id": iid, "model_name_or_path": obj.get("model_name_or_path"),
                      "model_patch": obj.get("model_patch")})
    return preds, problems
