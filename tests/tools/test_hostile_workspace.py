"""The hostile-workspace suite (issue 12, classes 1, 3, 10): a sandboxed command plants something in
the workspace, then every host-side operation runs against it.

Each case is a real ``/bin/sh`` command run by the real ``Sandbox`` in a workspace made from a real
temporary git repository (git mode) or the same files without ``.git`` (copy mode). Then status,
diff, list, read, grep, outline, find_definition, find_calls, accept (and undo when it was
accepted), reset and discard all run, and for each case:

- everything completes (the test carries a timeout: no FIFO or device hangs a tool);
- no planted program ran: every payload would create a marker file outside the workspace;
- nothing leaks: the fake secret's bytes (a file outside the workspace that planted links point at)
  appear in no observation and in no object of the private store;
- the user's directory, ``.git`` included, is byte-identical until accept, and again after undo
  (or after a refused accept), and after discard; the secret's directory is never written.
"""

import os
import socket
import stat

import pytest
from hostile_helpers import LIMITS, digest_all, gauntlet, leaked, store_holds_secret, templates, world  # noqa: F401

from tapehead.tools.sandbox.sandbox import Sandbox

EVIL_CONFIG = """[core]
\trepositoryformatversion = 0
\tfsmonitor = touch MARKER
\tpager = touch MARKER
\thooksPath = .git/hooks
\tsshCommand = touch MARKER
\teditor = touch MARKER
\tattributesFile = .gitattributes
[filter "x"]
\tclean = touch MARKER
\tsmudge = touch MARKER
\tprocess = touch MARKER
\trequired = true
[diff "x"]
\ttextconv = touch MARKER
\tcommand = touch MARKER
[diff]
\texternal = touch MARKER
[merge "x"]
\tdriver = touch MARKER
[alias]
\tstatus = !touch MARKER
"""
HOOK = "#!/bin/sh\ntouch MARKER\n"
ATTRS = "* filter=x diff=x merge=x\n"


def write(path: str, text: str, mode: str = "") -> str:
    """A shell snippet that writes ``text`` to ``path`` (parents made), optionally chmod."""
    chmod = f"chmod {mode} '{path}'\n" if mode else ""
    return f"mkdir -p \"$(dirname '{path}')\"\ncat > '{path}' <<'TAPEHEAD_EOF'\n{text}TAPEHEAD_EOF\n{chmod}"


def fake_git_dir(where: str) -> str:
    hooks = "".join(write(f"{where}/hooks/{h}", HOOK, "+x") for h in
                    ("pre-commit", "post-checkout", "post-index-change", "reference-transaction",
                     "fsmonitor-watchman", "pre-auto-gc"))
    return (f"mkdir -p {where}/objects {where}/refs/heads && echo 'ref: refs/heads/main' > {where}/HEAD\n"
            + write(f"{where}/config", EVIL_CONFIG) + hooks)


def host_devices(root: str) -> None:
    """Planted by root on the host (a sandbox may not mknod): device nodes and a socket."""
    if os.geteuid() != 0:
        pytest.skip("device nodes need root on the host")
    os.mknod(os.path.join(root, "zero"), stat.S_IFCHR | 0o666, os.makedev(1, 5))
    os.remove(os.path.join(root, "src", "util.py"))
    os.mknod(os.path.join(root, "src", "util.py"), stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.mknod(os.path.join(root, "loop.py"), stat.S_IFBLK | 0o600, os.makedev(7, 0))
    s = socket.socket(socket.AF_UNIX)
    s.bind(os.path.join(root, "app.sock"))
    s.close()


# (id, sandboxed command, words the observations must contain, extra paths to read, host plant)
PLANTS = [
    ("gitdir-file", fake_git_dir("evilgit") + "printf 'gitdir: %s/evilgit\\n' \"$PWD\" > .git\n"
     + write(".gitattributes", ATTRS) + "echo '# x' >> src/app.py\n", ["a .git entry"], [".git"], None),
    ("git-dir-config-hooks", fake_git_dir(".git") + write(".gitattributes", ATTRS)
     + "echo '# x' >> README.md\n", ["a .git entry", "M README.md"], [".git/config"], None),
    ("git-dir-index-exclude", fake_git_dir(".git") + "head -c 4096 /dev/urandom > .git/index\n"
     + write(".git/info/exclude", "*\n") + "echo new > fresh.txt\n", ["A fresh.txt"], [], None),
    ("gitattributes-hide-diff", write(".gitattributes", "* -diff binary filter=x diff=x ident eol=crlf "
                                      "working-tree-encoding=UTF-16\n")
     + "printf 'evil line\\n' > evil.txt\n", ["+evil line", "b/evil.txt"], ["evil.txt"], None),
    ("gitmodules-nested-repo", write(".gitmodules", '[submodule "sub"]\n\tpath = sub\n\turl = ./sub\n'
                                     "\tupdate = !touch MARKER\n") + fake_git_dir("sub/.git")
     + "echo inner > sub/file.txt\n", ["sub/.git", "A sub/file.txt"], ["sub/file.txt"], None),
    ("nested-git-deep", fake_git_dir("src/pkg/.git") + write("src/pkg/mod.py", "def main():\n    pass\n"),
     ["src/pkg/.git", "src/pkg/mod.py"], ["src/pkg/mod.py", "src/pkg/.git/config"], None),
    ("dot-git-other-case", fake_git_dir(".GIT") + write(".Git/hooks/pre-commit", HOOK, "+x"),
     [".GIT", ".Git"], [".GIT/config"], None),
    ("link-to-secret", "ln -s SECRET key && ln -s SECRET src/key.py && rm .gitignore && "
                       "ln -s SECRET .gitignore\n",
     ["leads outside", "symlink(s) would lead out", "ignore rules not read"], ["key", "src/key.py"], None),
    ("link-to-secret-dir", "ln -s OUTSIDE sdir && ln -s / rootdir && ln -s OUTSIDE src/inner\n",
     ["A sdir", "symlink(s) would lead out"], ["sdir/id_rsa", "rootdir/etc/passwd", "src/inner/id_rsa"],
     None),
    ("relative-escape", "ln -s ../../../../../../../../../../../../../../RELSECRET rel && "
                        "ln -s ../git/config gitcfg && ln -s ../workspace.json record.json && "
                        "ln -s ../../../outside/id_rsa near\n",
     ["climbs out", "leads outside"], ["rel", "gitcfg", "record.json", "near"], None),
    ("symlink-loops", "ln -s loop loop && ln -s a b && ln -s b a && ln -s . self && mkdir d && "
                      "ln -s .. d/up && ln -s self/self/self/loop deep\n",
     ["A loop", "accepted"], ["loop", "a", "self/src/app.py", "d/up/src/app.py"], None),
    ("fifo-gitignore", "rm .gitignore && mkfifo .gitignore\n", ["a FIFO"], [], None),
    ("fifo-sources", "mkfifo .gitattributes && rm src/app.py && mkfifo src/app.py && mkfifo app.py\n",
     ["a FIFO", "D src/app.py"], ["app.py"], None),
    ("sandbox-specials", "mknod zero c 1 5 2>/dev/null || true\nmkfifo pipe.py && python3 -c \"import socket; "
                         "socket.socket(socket.AF_UNIX).bind('s.sock')\"\n",
     ["a FIFO", "a socket"], ["pipe.py", "s.sock", "zero"], None),
    ("host-device-nodes", "true\n", ["a character device", "a block device", "a socket"],
     ["zero", "src/util.py", "loop.py", "app.sock"], host_devices),
    ("link-to-devices", "ln -s /dev/zero zero.py && ln -s /dev/urandom src/rand.py && "
                        "ln -s /proc/self/environ env.txt && ln -s /dev/stdin in.py\n",
     ["leads outside"], ["zero.py", "src/rand.py", "env.txt", "in.py"], None),
    ("odd-names", "printf 'x = 1\\n' > \"$(printf 'new\\nline.py')\" && printf 'y\\n' > "
                  "\"$(printf 'bad\\377name.txt')\" && printf 'z\\n' > \"$(printf 'tab\\tq\\\"uote')\" && "
                  "echo d > ./-dash.py && echo u > 'ünï cödé.py' && "
                  "echo long > \"$(printf 'l%.0s' $(seq 1 250))\"\n",
     ['"new\\nline.py"', '"bad\\377name.txt"', "-dash.py", "ünï cödé.py"], ["-dash.py"], None),
    ("exec-bits", "chmod +x README.md && chmod -x run.sh && chmod 000 notes.txt\n",
     ["M README.md", "M run.sh"], ["notes.txt"], None),
    ("deep-tree", "p=.; i=0; while [ $i -lt 230 ]; do p=$p/d; i=$((i+1)); [ $i = 20 ] && q=$p; done; "
                  "mkdir -p $p && echo deep > $p/bottom.py && echo mid > $q/mid.py\n",
     ["deeper than 200 directories", "mid.py"], [], None),
    ("large-files", "head -c 40000000 /dev/zero > big.bin && yes 'a line of a large log' | "
                    "head -c 9000000 > big.log.txt\n",
     ["A big.bin", "more than the 8 MiB a tool reads"], ["big.bin", "big.log.txt"], None),
    ("hide-with-gitignore", "echo '*' > .gitignore && echo '# evil' >> src/app.py && echo x > hidden.py\n",
     ["M src/app.py", "M .gitignore", "+# evil"], ["hidden.py"], None),
    ("dir-swapped-for-link", "rm -rf src && ln -s OUTSIDE src\n",
     ["D src/app.py", "A src", "symlink(s) would lead out"], ["src/id_rsa"], None),
    ("file-swapped-for-dir", "rm README.md && mkdir README.md && echo inner > README.md/inner && "
                             "rm .gitignore && mkdir .gitignore && echo x > .gitignore/x\n",
     ["D README.md", "A README.md/inner", "accepted"], ["README.md/inner"], None),
    ("home-gitconfig", write("$HOME/.gitconfig", EVIL_CONFIG) + write("$HOME/.config/git/attributes", ATTRS)
     + write("$HOME/.config/git/ignore", "*\n") + "echo '# x' >> src/util.py\n", ["M src/util.py"], [], None),
    ("huge-gitignore", "yes '!*.py' | head -c 2000000 > .gitignore && echo x > new.py\n",
     ["over the size cap", "A new.py"], [], None),
    ("hardlink-inside", "ln src/app.py hard.py && ln -s src/app.py soft.py\n", ["A hard.py", "accepted"],
     ["hard.py", "soft.py"], None),
]


@pytest.mark.slow
@pytest.mark.timeout(90)
@pytest.mark.parametrize("world", ["git", "copy"], indirect=True)
@pytest.mark.parametrize("name, command, words, paths, host", PLANTS, ids=[p[0] for p in PLANTS])
def test_hostile_workspace_is_contained(world, name, command, words, paths, host):
    ws, tools, user = world["ws"], world["tools"], world["user"]
    before, outside = digest_all(user), digest_all(world["outside"])
    command = (command.replace("MARKER", world["marker"]).replace("RELSECRET", world["secret"].lstrip("/"))
               .replace("SECRET", world["secret"]).replace("OUTSIDE", world["outside"]))
    planted = Sandbox(ws, LIMITS).run(["/bin/sh", "-c", "set -e\n" + command])
    assert planted.returncode == 0, planted.text()
    if host:
        host(ws.root)

    seen = gauntlet(tools, paths)
    assert digest_all(user) == before  # nothing reached the user's directory before accept
    accepted = ws.accept()
    seen.append(accepted)
    if accepted.ok and accepted.data["files"]:
        assert digest_all(user) != before
        undone = ws.undo()
        assert undone.ok, undone.text
        seen.append(undone)
    assert digest_all(user) == before
    seen.append(tools["git_reset"].call(path="."))
    assert ws.changes() == [], [c.path for c in ws.changes()]
    seen += gauntlet(tools, paths)

    text = "\n".join(o.text for o in seen)
    for w in words:
        assert w in text, f"{w!r} not in the observations of {name}"
    assert not os.path.exists(world["marker"]), "a planted program ran on the host"
    assert leaked(seen) == [] and not store_holds_secret(ws)
    scratch = ws.scratch
    assert "discarded" in ws.discard() and not os.path.exists(scratch)
    assert digest_all(user) == before and digest_all(world["outside"]) == outside
    assert not os.path.exists(world["marker"])
