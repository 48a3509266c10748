"""Placeholder registrations for the agent's own commands (filled in by the agent issue)."""


def register_run(sub) -> None:
    pass


def register_sessions(sub) -> None:
    pass


def register_replay(sub) -> None:
    pass
