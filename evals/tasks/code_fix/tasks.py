"""The code-fix tasks as registered in ``tapehead.tasks`` (agent/tasks.py's protocol, plus what
coding needs).

==================  =====================================  ==============  ============
task                repositories                           teacher         paper
==================  =====================================  ==============  ============
code-fix-paper      paper style, plumbing bug              interactive     §3.3, App. E
code-fix-plumbing   realistic style, plumbing bug          interactive     ours
code-fix-import     realistic style, missing imports (1-3) search-driven   ours
code-fix            the three above, equally mixed         interactive     (training default)
code-fix-single     plumbing, paper and realistic mixed    single-turn     §3.3 baseline
==================  =====================================  ==============  ============

Beyond ``agent/tasks.py``: ``sample`` and ``hard_cases`` give ``RepoInstance``s (``instance.py``);
``teacher(codec, instance=None)`` is a policy that works through the real workspace tools (it
reads only observations, so it needs no instance); ``tools(workspace, check=...)`` is the tool set
the policy gets; ``trace(codec, instance)`` is the fast path for training data (the same teacher
program against ``memtools.MemoryRepo``); ``max_tokens`` takes an instance, a size, or an episode
text (then the bound for the largest size we evaluate, 1,024 functions). Size is the number of
functions; training sizes are 4 to 16 (the paper's).
"""

from __future__ import annotations

import random

from .graph import KINDS
from .instance import CHECK, RepoInstance, generate, statement
from .memtools import MemoryRepo
from .realistic import IMPORT_KINDS, PLUMBING_KINDS
from .teachers import StepsPolicy, fast_trace, interactive, single_turn

# A true bound on a teacher's trace, from the generators' limits (graph.py): at most
# FIXES_PER_FUNCTION edits per function of the repository, each one check, one search and one edit
# with observations of bounded length (tracebacks.py cuts every line).
FIXES_PER_FUNCTION = 8
TOKENS_PER_FIX = 1_500
READ_TOKENS_PER_FUNCTION = 1_200  # single-turn: the listing and the reading of every file
LARGEST = 1024


class CodeFix:
    heads = 0
    default_policy = ""
    train_size = 16
    min_size = 4

    def __init__(self, name: str, parts: list[tuple[str, str]], teacher: str = "interactive"):
        self.name = name
        self.parts = parts  # (style, family) drawn uniformly
        self.teacher_kind = teacher

    # --- instances ------------------------------------------------------------------------------------
    def parse(self, user_input: str) -> str:
        """The problem statement of a run on a user's repository (the policy's input)."""
        text = (user_input or "").strip()
        return text or statement(CHECK)

    def answer(self, text: str) -> str:
        """A fix is graded on the repository (the check, the hidden check), not on text."""
        return ""

    def sample(self, size: int, rng: random.Random, *, train: bool = False) -> RepoInstance:
        n = rng.randint(self.min_size, max(self.min_size, size)) if train else max(self.min_size, size)
        style, family = rng.choice(self.parts)
        return generate(n, rng.randrange(2 ** 31), family, style)

    def hard_cases(self, size: int, rng: random.Random) -> list[RepoInstance]:
        """Every hard case of every part (``graph.py``, ``realistic.py`` name them)."""
        n = max(self.min_size, size)
        return [generate(n, rng.randrange(2 ** 31), family, style, kind)
                for style, family in self.parts for kind in kinds_of(style, family)[1:]]

    def max_tokens(self, x) -> int:
        size = x.size if isinstance(x, RepoInstance) else x if isinstance(x, int) else LARGEST
        read = READ_TOKENS_PER_FUNCTION * size if self.teacher_kind == "single" else 0
        return 512 + read + TOKENS_PER_FIX * FIXES_PER_FUNCTION * size

    # --- the teacher ------------------------------------------------------------------------------------
    def steps(self, check: str = CHECK):
        return single_turn(check) if self.teacher_kind == "single" else interactive()

    def teacher(self, codec, instance: RepoInstance | None = None) -> StepsPolicy:
        check = instance.check if instance is not None else CHECK
        return StepsPolicy(codec, lambda: self.steps(check))

    def tools(self, workspace, check: str = CHECK, limits=None) -> list:
        from tapehead.tools.code.workspace_tools import workspace_tools

        return workspace_tools(workspace, limits, check)

    def trace(self, codec, instance: RepoInstance) -> tuple[list[int], list[bool]]:
        """The teacher's tokens and loss mask, built in process (module docstring)."""
        repo = MemoryRepo(instance.files, instance.check)
        return fast_trace(codec, instance.text, self.steps(instance.check), repo.call)


def kinds_of(style: str, family: str) -> tuple[str, ...]:
    """The instance kinds of a style and family, ``random`` first, then the hard cases."""
    if family == "import":
        return IMPORT_KINDS
    return KINDS if style == "paper" else PLUMBING_KINDS


PAPER = CodeFix("code-fix-paper", [("paper", "plumbing")])
PLUMBING = CodeFix("code-fix-plumbing", [("realistic", "plumbing")])
IMPORT = CodeFix("code-fix-import", [("realistic", "import")])
MIXED = CodeFix("code-fix", [("paper", "plumbing"), ("realistic", "plumbing"), ("realistic", "import")])
SINGLE = CodeFix("code-fix-single", [("paper", "plumbing"), ("realistic", "plumbing")], teacher="single")
