"""The LangGraph agent: the graph (``build``), its state, the policy and tool nodes, the runtime
cache of decoding state, sessions in SQLite, approval, typed events, the toolset, LangChain tool
adapters, and a benchmark of the graph against the bare loop (``bench``)."""
