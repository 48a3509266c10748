"""Code fixing in a generated repository (paper §3.3, App. E; issue 14): a room of its own.

- ``graph.py``: the call graph (functions added one at a time, the last one ``foo``);
- ``paper.py``, ``realistic.py``: the two styles of repository; ``vocabulary.py`` the realistic names;
- ``instance.py``: ``RepoInstance``, ``generate``, ``write_repo``, ``read_repo``, ``changed_functions``;
- ``inprocess.py``, ``memtools.py``: the repository run and edited in memory (training data);
- ``teachers.py``: the interactive / search-driven and the single-turn teachers;
- ``tasks.py``: the registered tasks (``code-fix``, ``code-fix-paper``, ``code-fix-plumbing``,
  ``code-fix-import``, ``code-fix-single``).

The interface used by the benchmark harness (``INTERFACE.md``) is what this module exports.
"""

from .instance import CHECK, RepoInstance, changed_functions, generate, read_repo, statement, write_repo

__all__ = ["CHECK", "RepoInstance", "changed_functions", "generate", "read_repo", "statement", "write_repo"]
