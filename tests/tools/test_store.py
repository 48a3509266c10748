"""The private object store: its fast path (one ``git fast-import`` for a whole copy) against its
reference twins (a blob at a time with gitdb, a large file streamed, and git's own hash-object)."""

import io
import os
import subprocess

import pytest

from tapehead.tools.workspace.nofollow import blob_id
from tapehead.tools.workspace.store import SMALL, Store

pytestmark = pytest.mark.timeout(60)
DATA = [b"", b"x", b"line\n" * 1000, bytes(range(256)) * 40, b"\0binary\0", "ünï\r\n".encode()]


@pytest.fixture
def store(tmp_path):
    (tmp_path / "home").mkdir()
    return Store.init(str(tmp_path / "git"), str(tmp_path / "home"))


def git_hash(data: bytes) -> str:
    return subprocess.run(["git", "hash-object", "--stdin"], input=data, capture_output=True,
                          check=True).stdout.decode().strip()


def test_batch_put_and_git_agree_on_every_blob(store):
    with store.batch() as batch:
        marks = [batch.add(d) for d in DATA]
    from_batch = [batch.ids[m] for m in marks]
    assert from_batch == [store.put(d) for d in DATA] == [blob_id(d) for d in DATA] == [git_hash(d) for d in DATA]
    assert [store.read(s) for s in from_batch] == DATA and all(store.kind(s) == "blob" for s in from_batch)


def test_a_large_blob_is_streamed_and_reads_back(store):
    data = os.urandom(1 << 16) * ((SMALL >> 16) + 3)  # over SMALL: the streaming path
    sha = store.put_stream(io.BytesIO(data), len(data))
    assert sha == blob_id(data) == git_hash(data) and b"".join(store.chunks(sha)) == data


def test_trees_commits_and_diffs_are_built_in_the_private_store_only(store, tmp_path):
    a, b = store.put(b"one\n"), store.put(b"two\n")
    t1 = store.write_tree({"x.txt": ("100644", a), "d/y.sh": ("100755", b), "l": ("120000", store.put(b"x.txt"))})
    t2 = store.write_tree({"x.txt": ("100644", b), "d/y.sh": ("100755", b)})  # a change and a removal
    assert store.entries(t2) == {"x.txt": ("100644", b), "d/y.sh": ("100755", b)}
    c1 = store.commit(t1, None, "first")
    assert store.kind(c1) == "commit" and store.tree_of(c1) == t1 and store.kind(t1) == "tree"
    patch = store.patch(c1, t2)
    assert "-one\n+two" in patch and "deleted file mode 120000" in patch
    assert store.patch(c1, t2, "d") == ""
    for bad in ("", "HEAD", "0" * 40, "g" * 40, None, 3):
        assert store.kind(bad) is None
    assert not os.path.exists(tmp_path / "git" / "hooks") and not os.path.exists(tmp_path / "git" / "info")
