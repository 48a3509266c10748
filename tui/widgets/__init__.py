"""The TUI's widgets, one concept per module: the trace (``trace_view``, on ``block_log``), the tool
calls (``tool_calls``), the tape (``tape_view``), the workspace and its diff (``workspace_panel``)
and the status bar (``status_bar``)."""
