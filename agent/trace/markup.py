"""Token markup: a trace written as text, with special tokens spelled by name.

Convention: the inverse of ``vocab.decode_text`` -- ``[NAME]`` for every special token the
vocabulary knows (``[BOS]``, ``[CALL]``, ``[p1.read]``, ...), UTF-8 bytes for everything else; a
bracketed word that is not a special token is plain text. Used to write scripted policies by hand
(tests, docs, ``tapehead run --policy script:FILE.txt``)::

    [CALL]run echo hello[/CALL][OBS][/OBS][ANS]hi[EOS]

Observation spans in a script are skipped when the script is replayed (the tools answer), so
``[OBS][/OBS]`` is only a placeholder; ``ScriptedPolicy`` skips as many tokens as were fed, so a
script for a run whose observations are known in advance should hold them verbatim, and one whose
observations vary should be replayed with ``tapehead.agent.policies.replay_policy.ReplayPolicy`` instead.
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"\[[A-Za-z/][A-Za-z0-9_./]*\]")


def parse_markup(codec, text: str) -> list[int]:
    vocab = codec.vocab
    names = set(vocab.specials)
    out: list[int] = []
    pos = 0
    for m in _SPECIAL.finditer(text):
        if m.group(0) not in names:
            continue
        out.extend(text[pos:m.start()].encode("utf-8"))
        out.append(vocab.id(m.group(0)))
        pos = m.end()
    out.extend(text[pos:].encode("utf-8"))
    return out


def to_markup(codec, tokens) -> str:
    return codec.vocab.decode_text(tokens)
