"""The TUI's screens, one per module with its ``.tcss`` (Textual's ``CSS_PATH``): start, run,
approval, sessions, inspect, confirm and help."""
