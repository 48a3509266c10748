"""tapehead's tools as LangChain tools, inside a hand-built LangGraph agent with ToolNode (the example
of docs/agent.md), running the real sandboxed execution tool."""

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from tapehead.agent.graph.lc_tools import as_langchain_tool, langchain_tools
from tapehead.tools.code.workspace_tools import workspace_tools
from tapehead.tools.memory.pointer_tape import PointerTape
from tapehead.tools.workspace.workspace import Workspace

from graph_helpers import source_dir


def test_schema_follows_the_tool_spec():
    t = as_langchain_tool(PointerTape(list("ab+c")))
    assert t.name == "tape" and t.metadata["category"] == "memory"
    schema = t.args_schema.model_json_schema()
    assert schema["required"] == ["head", "op"] and schema["properties"]["head"]["type"] == "integer"
    assert t.invoke({"head": 1, "op": "read"}) == "a"
    assert t.invoke({"head": 9, "op": "read"}).startswith("error: no head 9")  # tools never raise


def test_workspace_tools_in_a_users_langgraph_agent(tmp_path):
    ws = Workspace.create(source_dir(tmp_path))
    try:
        tools = langchain_tools(workspace_tools(ws))
        by_name = {t.name: t for t in tools}
        assert by_name["run"].metadata["category"] == "exec" and by_name["read_file"].metadata["category"] == "read"
        assert "timeout_s" not in by_name["run"].args_schema.model_json_schema()["required"]

        def model(state):  # stands in for a chat model: two tool calls, then an answer
            if len(state["messages"]) == 1:
                return {"messages": [AIMessage("", tool_calls=[
                    {"name": "run", "args": {"command": "python a.py"}, "id": "c1"},
                    {"name": "read_file", "args": {"path": "missing.py"}, "id": "c2"}])]}
            return {"messages": [AIMessage("done")]}

        g = StateGraph(MessagesState)
        g.add_node("model", model)
        g.add_node("tools", ToolNode(tools))
        g.add_edge(START, "model")
        g.add_conditional_edges("model", tools_condition)
        g.add_edge("tools", "model")
        out = g.compile().invoke({"messages": [("user", "run a.py")]})
        results = [m for m in out["messages"] if isinstance(m, ToolMessage)]
        assert results[0].content.startswith("[exit 0;") and "hello from a.py" in results[0].content
        assert results[1].content.startswith("error:")
        assert out["messages"][-1].content == "done"
    finally:
        ws.discard()
