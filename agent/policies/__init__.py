"""Policies: the protocol every policy follows and the model policy (``policy``), where a run's
policy comes from (``source``: a checkpoint, the teacher, a script), and the replay of recorded
tokens (``replay_policy``)."""
