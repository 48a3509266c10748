"""Policies: the protocol every policy follows and the model policy (``policy``), where a run's
policy comes from (``source``: a checkpoint, the teacher, a script), the replay of recorded tokens
(``replay_policy``), and a policy picked per input (``routed``)."""
