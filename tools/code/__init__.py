"""Tools on code in a workspace: files (list, read, grep), tree-sitter symbols and grammars, edits
with a syntax gate, git, and the set of all workspace tools (``workspace_tools``)."""
