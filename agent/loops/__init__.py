"""The loops that run a policy against the tools: the episode (limits, counters, the in-process
tape), one episode at a time (``loop``), many in lockstep on the host (``batched``) or on the
device (``tensor``, with ``snapshot`` to suspend and resume a long run), and the exit statuses
(``limits``)."""
