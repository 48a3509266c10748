"""Running git for the workspace: one helper over GitPython's ``Git.execute``.

Convention: every git command the tools run goes through ``run_git``, which pins the settings that
would otherwise let the user's configuration or hooks act during our plumbing: hooks off
(``core.hooksPath=/dev/null``), no signing, no CRLF conversion, no fsmonitor, C locale, and a fixed
identity for the scratch commits. Paths in and out are NUL-separated where git allows it.
"""

from __future__ import annotations

import git

PINNED = ("-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false", "-c", "core.autocrlf=false",
          "-c", "core.fsmonitor=false", "-c", "core.quotepath=false", "-c", "gc.auto=0",
          "-c", "advice.detachedHead=false")
IDENTITY = {"GIT_AUTHOR_NAME": "tapehead", "GIT_AUTHOR_EMAIL": "tapehead@localhost",
            "GIT_COMMITTER_NAME": "tapehead", "GIT_COMMITTER_EMAIL": "tapehead@localhost"}


class GitError(RuntimeError):
    pass


def run_git(cwd: str, *args: str, env: dict | None = None, binary: bool = False,
            stdin: bytes | None = None) -> str | bytes:
    """Run ``git ARGS`` in ``cwd``; return stdout (str, or bytes with ``binary``); raise GitError."""
    import tempfile

    full_env = dict(IDENTITY, LC_ALL="C", GIT_TERMINAL_PROMPT="0")
    full_env.update(env or {})
    istream = None
    if stdin is not None:
        istream = tempfile.TemporaryFile()
        istream.write(stdin)
        istream.seek(0)
    try:
        return git.Git(cwd).execute(["git", *PINNED, *args], env=full_env, istream=istream,
                                    stdout_as_string=not binary, strip_newline_in_stdout=False)
    except git.GitCommandError as e:
        raise GitError(f"git {' '.join(args[:2])} failed: {str(e.stderr).strip()[:500]}") from None
    finally:
        if istream is not None:
            istream.close()


def nul_split(text: str) -> list[str]:
    return [p for p in text.split("\0") if p]
