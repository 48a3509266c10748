"""tapehead's tools as LangChain tools, for use in any LangChain / LangGraph agent.

Convention: ``as_langchain_tool(tool)`` wraps one ``tapehead.tools.base.Tool`` as a
``langchain_core.tools.StructuredTool`` built from its ``ToolSpec``: same name, the one-line doc as
description, a pydantic argument schema from the typed arguments (required ones required, the
others optional with their defaults, unknown ones refused), and the observation's text as the result.
Tools never raise (``tools/base.py``), and neither do these: a refused call, and arguments the
schema refuses (a wrong type, a missing or unknown argument: pydantic's ``ValidationError``, turned
by ``handle_validation_error`` into the same ``error: TOOL: ...`` text, status ``error``), come back as
text the model can read; a bare string is the tool's first argument (as in the call format of
``agent/trace/calls.py``). The
tool's category is in ``metadata["category"]`` so a caller can gate ``edit``/``exec``/``git`` tools
behind its own approval (tapehead's own graph does it with ``interrupt()``, ``agent/graph/approval.py``).
``docs/agent.md`` shows them in a hand-built LangGraph agent with ``ToolNode``.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from langchain_core.tools import StructuredTool
from pydantic import ConfigDict, Field, ValidationError, create_model

_PY = {"str": str, "int": int, "bool": bool, "float": float}


def args_model(spec):
    """The pydantic model of a tool's arguments. Numbers and booleans are strict (as ``Tool.call``'s
    own check: ``True`` is not the integer 1); unknown arguments are refused."""
    fields: dict[str, Any] = {}
    for a in spec.args:
        typ = _PY.get(a.type, str)
        strict = {"strict": True} if a.type in ("int", "bool") else {}
        if a.required:
            fields[a.name] = (typ, Field(description=a.doc, **strict))
        else:
            fields[a.name] = (Optional[typ], Field(default=a.default, description=a.doc, **strict))
    name = "".join(p.capitalize() for p in spec.name.split("_")) + "Args"
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)


def validation_text(tool_name: str, e: ValidationError) -> str:
    """pydantic's errors as one observation in the tools' own words (``error: TOOL: ...``)."""
    parts = []
    for d in e.errors()[:5]:
        where = ".".join(str(x) for x in d.get("loc", ())) or "arguments"
        got = d.get("input")
        shown = "" if d.get("type") == "missing" else f" (got {type(got).__name__} {str(got)[:40]!r})"
        parts.append(f"argument {where!r}: {d.get('msg', 'invalid')}{shown}")
    return f"error: {tool_name}: " + "; ".join(parts)


def as_langchain_tool(tool) -> StructuredTool:
    spec = tool.spec
    first = spec.args[0].name if spec.args else None

    def run(*args, **kwargs) -> str:
        if args:  # a bare string input: the first argument (StructuredTool passes it positionally)
            if first is None or len(args) > 1:
                return f"error: {spec.name}: takes no positional input"
            kwargs = {first: args[0], **kwargs}
        return tool.call(**{k: v for k, v in kwargs.items() if v is not None}).text

    return StructuredTool.from_function(func=run, name=spec.name, description=spec.doc,
                                        args_schema=args_model(spec),
                                        handle_validation_error=lambda e: validation_text(spec.name, e),
                                        metadata={"category": spec.category, "tapehead": True})


def langchain_tools(tools: Iterable) -> list[StructuredTool]:
    """Wrap several tools, e.g. ``langchain_tools(workspace_tools(ws))``."""
    return [as_langchain_tool(t) for t in tools]
