"""The shipped policies, as package data: ``NAME.json`` (config, vocabulary, training recipe, the
measured range under ``metrics.eval``) + ``NAME.safetensors`` (bf16 weights), one pair per name.

Registered under the entry-point group ``tapehead.policies`` (pyproject.toml), so
``--policy NAME`` finds them from any directory (``tapehead.agent.policies.shipped``) and
``tapehead policies`` lists them. A folder of data, no code.
"""
