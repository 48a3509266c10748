"""Function bodies and module texts of the realistic style (``realistic.py`` lays out the repository).

A body is statements over typed values (``int`` >= 0 and non-empty ``str``, so every generated
condition ``if amount >= 0:`` / ``if label:`` holds and no operation fails by accident): a
docstring, local computations (arithmetic, f-strings, module constants), the calls of the call
graph -- a call that repeats in a loop or written out several times, sometimes under a condition, results kept when the callee
returns one, long calls wrapped one argument per line -- prints, comments, and a return. Every
call of the call graph is executed, which the plumbing fix relies on (a call that never ran would
never fail, and the interactive teacher would never see it).
"""

from __future__ import annotations

from .vocabulary import COMMENTS, DOC_TAILS, LOCALS_INT, LOCALS_STR

WORDS = ("A-1042", "gold", "north", "SKU-77", "weekly", "pending", "EU", "acme", "blue", "draft", "x-12",
         "retail", "priority", "basic", "main-st")
WIDTH = 79


class Body:
    """Writes one function's body; ``lines`` are ``(depth, text)``; ``repo`` is the layout
    (``realistic.Repo``), used for callee signatures and to register the imports a body needs."""

    def __init__(self, repo, fn, rng, plumbed=None, use_plumbed: bool = False):
        self.repo, self.fn, self.rng, self.style = repo, fn, rng, repo.style
        self.env: list[tuple[str, str]] = [(p.name, p.type) for p in fn.params]
        self.lines: list[tuple[int, str]] = []
        self.plumbed, self.use_plumbed = plumbed, use_plumbed
        self.used = {p.name for p in fn.params}

    # --- values -----------------------------------------------------------------------------------------
    def q(self, s: str) -> str:
        return f"{self.style.q}{s}{self.style.q}"

    def literal(self, typ: str) -> str:
        return str(self.rng.randint(1, 99)) if typ == "int" else self.q(self.rng.choice(WORDS))

    def value(self, typ: str, prefer: str = "") -> str:
        same = [n for n, t in self.env if t == typ]
        if prefer and (prefer, typ) in self.env:
            return prefer
        if same and self.rng.random() < 0.75:
            return self.rng.choice(same)
        return self.literal(typ)

    def fstring(self, text: str) -> str:
        """``f"..."`` when ``text`` has a placeholder, a plain literal otherwise."""
        return f"f{self.q(text)}" if "{" in text else self.q(text)

    def part(self, typ: str, name: str | None = None) -> str:
        """An f-string fragment: ``{name}`` of a variable, or a literal's text (never a quoted
        literal inside the braces: before Python 3.12 it could not reuse the f-string's quote)."""
        same = [n for n, t in self.env if t == typ]
        if name is None and same and self.rng.random() < 0.85:
            name = self.rng.choice(same)
        if name is not None:
            return "{" + name + "}"
        return str(self.rng.randint(1, 99)) if typ == "int" else self.rng.choice(WORDS)

    def new_local(self, typ: str) -> str:
        pool = [n for n in (LOCALS_INT if typ == "int" else LOCALS_STR) if n not in self.used]
        name = self.rng.choice(pool) if pool else f"{'n' if typ == 'int' else 's'}{len(self.used)}"
        self.used.add(name)
        return name

    def constant(self, typ: str) -> str | None:
        """A module constant of ``typ`` (imported from the config module), or None."""
        consts = [c for c in self.repo.constants if c[1] == typ]
        if not consts or self.rng.random() > self.repo.p_constant:
            return None
        name = self.rng.choice(consts)[0]
        self.repo.need(self.fn.module, self.repo.config_path, name)
        return name

    # --- statements -------------------------------------------------------------------------------------
    def emit(self, depth: int, text: str) -> None:
        self.lines.append((depth, text))

    def docstring(self) -> None:
        if self.rng.random() < self.style.docs:
            words = self.fn.name.replace("_", " ")
            tail = self.rng.choice(DOC_TAILS)
            self.emit(1, '"""' + (words[0].upper() + words[1:] + (" " + tail if tail else "")) + '."""')

    def compute(self, depth: int = 1) -> None:
        r = self.rng
        typ = r.choice(("int", "str"))
        new = self.new_local(typ)
        const = self.constant(typ)
        if typ == "int":
            a = const or self.value("int")
            form = r.randrange(4)
            strs = [n for n, t in self.env if t == "str"]
            expr = (f"{a} + {self.value('int')}", f"{a} * {r.randint(2, 9)}", f"max({a}, {r.randint(0, 50)})",
                    f"len({r.choice(strs)}) + {a}" if strs else f"{a} + 1")[form]
        else:
            a = const or self.value("str")
            form = r.randrange(3)
            expr = (self.fstring(self.part('str', const) + '-' + self.part('int')), f"{a}.upper()",
                    f"{a} + {self.q('-' + r.choice(WORDS))}")[form]
        self.emit(depth, f"{new} = {expr}")
        self.env.append((new, typ))

    def show(self, depth: int = 1) -> None:
        r = self.rng
        if r.random() < 0.5:
            text = self.fn.name.split("_", 1)[-1] + ": " + self.part("int") + " " + self.part("str")
            self.emit(depth, f"print({self.fstring(text)})")
        else:
            a = r.choice(self.env)[0] if self.env else self.literal("int")
            self.emit(depth, f"print({self.q(self.rng.choice(WORDS) + ':')}, {a})")

    def instantiate(self, depth: int = 1) -> None:
        cls, fields = self.rng.choice(self.repo.classes)
        self.repo.need(self.fn.module, self.repo.models_path, cls)
        obj = self.new_local("obj")
        args = ", ".join(self.value(self.rng.choice(("int", "str"))) for _ in fields)
        self.emit(depth, f"{obj} = {cls}({args})")
        self.emit(depth, f"print({self.q(cls.lower())}, {obj}.{fields[0]})")

    def use_bug(self, depth: int = 1) -> None:
        """The plumbed variable, used where it was never passed (the plumbing bug)."""
        name, literal = self.plumbed
        if literal in ("True", "False"):
            self.emit(depth, f"if {name}:")
            self.emit(depth + 1, f"print({self.q(name + ':')}, {self.value('str')})")
        elif literal[0] in "\"'":
            if self.rng.random() < 0.5:
                self.emit(depth, f"print({self.fstring('[' + self.part('str', name) + '] ' + self.part('str'))})")
            else:
                new = self.new_local("str")
                self.emit(depth, f"{new} = {self.fstring(self.part('str', name) + ':' + self.part('int'))}")
                self.emit(depth, f"print({new})")
        else:
            new = self.new_local("int")
            self.emit(depth, f"{new} = min({name}, {self.value('int')})")
            self.emit(depth, f"print({self.q(new + ':')}, {new})")

    def call(self, child: int, repeat: int) -> None:
        r, callee = self.rng, self.repo.fns[child]
        if repeat > 1 and r.random() < 0.4:  # written out: several call sites of one callee
            for _ in range(repeat):
                self.call(child, 1)
            return
        depth = 1
        if repeat > 1:
            self.emit(depth, f"for {r.choice(('attempt', '_', 'round_', 'i'))} in range({repeat}):")
            depth += 1
        elif self.env and r.random() < self.repo.p_branch:
            name, typ = r.choice(self.env)
            self.emit(depth, f"if {name} >= 0:" if typ == "int" else f"if {name}:")
            depth += 1
        args, by_name = [], False
        for p in callee.params:
            if p.default is not None and r.random() < 0.6:
                by_name = True  # left to its default: what follows goes by name
                continue
            v = self.value(p.type, prefer=p.name)
            by_name = by_name or p.kw_only or p.default is not None or r.random() < 0.2
            args.append(f"{p.name}={v}" if by_name else v)
        if callee.kwargs and r.random() < 0.4:
            args.append(f"source={self.q(r.choice(WORDS))}")
        ref = self.repo.reference(self.fn.module, callee)
        keep = callee.ret is not None and r.random() < 0.6
        target = self.new_local(callee.ret) if keep else ""
        head = f"{target} = " if keep else ""
        flat = f"{head}{ref}({', '.join(args)})"
        if args and (4 * depth + len(flat) > WIDTH or r.random() < self.style.wrap):
            self.emit(depth, f"{head}{ref}(")
            for a in args:
                self.emit(depth + 1, f"{a},")
            self.emit(depth, ")")
        else:
            self.emit(depth, flat)
        if depth > 1 and self.rng.random() < 0.3 and repeat == 1:
            self.emit(depth - 1, "else:")
            self.emit(depth, f"print({self.q('skipped')})")
        if keep:
            self.env.append((target, callee.ret))

    def ret(self) -> None:
        if self.fn.ret is not None:
            self.emit(1, f"return {self.value(self.fn.ret)}")

    def write(self, prelude: list[str] = ()) -> list[str]:
        """The function's statements in order; ``prelude``: texts first (main's declarations)."""
        r = self.rng
        self.docstring()
        for text in prelude:
            self.emit(1, text)
        steps = ["call"] * len(self.fn.calls) + ["compute"] * r.randint(0, 2) + ["show"] * r.randint(1, 2)
        if r.random() < self.repo.p_class and self.repo.classes:
            steps.append("instantiate")
        r.shuffle(steps)
        if self.use_plumbed:
            steps.insert(r.randint(0, len(steps)), "bug")
        if r.random() < 0.2:
            steps.insert(r.randint(0, len(steps)), "comment")
        calls = iter(self.fn.calls)
        for s in steps:
            if s == "call":
                self.call(*next(calls))
            elif s == "bug":
                self.use_bug()
            elif s == "comment":
                self.emit(1, r.choice(COMMENTS))
            else:
                getattr(self, s)()
        self.ret()
        return [("    " * d + t) for d, t in self.lines]


def signature(fn, style) -> list[str]:
    """The ``def`` line(s): required, defaults, ``*`` + keyword-only, ``**kwargs``; one per line
    when long."""
    parts, star = [], False
    for p in fn.params:
        if p.kw_only and not star:
            parts.append("*")
            star = True
        hint = f": {p.type}" if style.hints else ""
        eq = " = " if style.hints else "="
        default = p.default.replace('"', style.q) if p.default is not None else None
        parts.append(f"{p.name}{hint}{eq}{default}" if default is not None else f"{p.name}{hint}")
    if fn.kwargs:
        parts.append(f"**{fn.kwargs}")
    ret = f" -> {fn.ret or 'None'}" if style.hints else ""
    flat = f"def {fn.name}({', '.join(parts)}){ret}:"
    if len(flat) <= WIDTH or not parts:
        return [flat]
    return [f"def {fn.name}(", *(f"    {p}," for p in parts), f"){ret}:"]


def module_text(docstring: str | None, imports: list[str], statements: list[str], functions: list[list[str]],
                blank: int, tail: list[str] = ()) -> str:
    """A module: docstring, imports, module-level statements, functions, then ``tail``."""
    blocks = []
    if docstring:
        blocks.append([f'"""{docstring}"""'])
    if imports:
        blocks.append(imports)
    if statements:
        blocks.append(statements)
    sep = [""] * blank
    out: list[str] = []
    for b in blocks:
        out += (["" ] if out else []) + b
    for f in functions + ([list(tail)] if tail else []):
        out += (sep if out else []) + f
    return "\n".join(out) + "\n"
