"""tapehead's tools as LangChain tools, for use in any LangChain / LangGraph agent.

Convention: ``as_langchain_tool(tool)`` wraps one ``tapehead.tools.base.Tool`` as a
``langchain_core.tools.StructuredTool`` built from its ``ToolSpec``: same name, the one-line doc as
description, a pydantic argument schema from the typed arguments (required ones required, the
others optional with their defaults), and the observation's text as the result. Tools never raise
(``tools/base.py``), so a refused call comes back as an ``error: ...`` text the model can read; the
tool's category is in ``metadata["category"]`` so a caller can gate ``edit``/``exec``/``git`` tools
behind its own approval (tapehead's own graph does it with ``interrupt()``, ``agent/graph/approval.py``).
``docs/agent.md`` shows them in a hand-built LangGraph agent with ``ToolNode``.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from langchain_core.tools import StructuredTool
from pydantic import Field, create_model

_PY = {"str": str, "int": int, "bool": bool, "float": float}


def args_model(spec):
    """The pydantic model of a tool's arguments."""
    fields: dict[str, Any] = {}
    for a in spec.args:
        typ = _PY.get(a.type, str)
        if a.required:
            fields[a.name] = (typ, Field(description=a.doc))
        else:
            fields[a.name] = (Optional[typ], Field(default=a.default, description=a.doc))
    name = "".join(p.capitalize() for p in spec.name.split("_")) + "Args"
    return create_model(name, **fields)


def as_langchain_tool(tool) -> StructuredTool:
    spec = tool.spec

    def run(**kwargs) -> str:
        return tool.call(**{k: v for k, v in kwargs.items() if v is not None}).text

    return StructuredTool.from_function(func=run, name=spec.name, description=spec.doc,
                                        args_schema=args_model(spec),
                                        metadata={"category": spec.category, "tapehead": True})


def langchain_tools(tools: Iterable) -> list[StructuredTool]:
    """Wrap several tools, e.g. ``langchain_tools(workspace_tools(ws))``."""
    return [as_langchain_tool(t) for t in tools]
