"""The trace: the codec that spells the protocol (tokens <-> tool calls and observations), the
markup for writing traces by hand, tool-call arguments, and the trajectory record and its file."""
