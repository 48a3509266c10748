"""The ``tapehead`` command: the entry point and its plugin registry (``main``), and the agent's
own commands, one module each: ``run``, ``sessions``, ``replay``."""
