"""The addition ablations of paper App. D.7 (paper-notes §5.7): what happens without interactive tools.

Four tasks share addition's input ``a+b=``, its generator, hard cases and parse (evals/tasks/
addition.py); only the trace differs. The paper trains each on ≤ 5 digits: the first, second and
fourth are perfect in distribution and do not generalise; the third is poor even in distribution.

``addition-nocot``     answer directly: ``[ANS]`` and the sum, most significant digit first.
``addition-reversed``  answer directly, the sum reversed (least significant digit first); the
                       answer is the reversed string.
``addition-calc``      single-turn tool use: one calculator call, the paper's ``add(a,b)``, spelled
                       as a call span (agent/trace/codec.py) ``[CALL]add 123,456[/CALL]``, answered
                       ``[OBS]579[/OBS]``; then ``[ANS]`` and the sum copied out.
``addition-predicted`` no tool use: addition's trace (phases 1–3, the work) with every tape command
                       spelled as thought bytes and every read's symbol *written by the policy*
                       (so it is trained, not given): ``>1`` / ``<1`` move head 1 right / left,
                       ``?1`` reads it and the next byte is what the policy says is there (``^`` for
                       ``[BOS]``). No command runs, so the tape only records the thoughts. Phases
                       4–5 (reading the reversed sum back from the tape) have nothing to read
                       without a tool, so after ``[ANS]`` the sum is written directly. (Our codec
                       makes every byte after ``[ANS]`` an output, so the paper's interleaved
                       thoughts cannot follow ``[ANS]``.)

The no-CoT and calculator teachers see their input (``CallProgramPolicy(with_input=True)``): by
definition they do the work "in their head". The predicted-CoT teacher runs addition's program
and writes, in place of each read, the symbol the tape would have returned (its own tape replica,
never consulted by the loop).

Trace lengths (tokens after the input, n-digit operands, measured): no-CoT and reversed n+3;
calculator ~4n+13 (the call, its answer, the copy); predicted ~28n (addition: ~36n).
"""

from __future__ import annotations

import re

from tapehead.tools.memory.pointer_tape import PointerTape

from .addition import Addition, _add_strings
from .addition import _program as addition_program
from .call_program import CallProgramPolicy, call

_ARGS = re.compile(r"^\s*([0-9]+)\s*,\s*([0-9]+)\s*$")  # ASCII digits only


def _operands(text: str) -> tuple[str, str]:
    a, b = text.rstrip("=").split("+")
    return a, b


class _Ablation(Addition):
    default_policy = ""

    def max_tokens(self, text: str) -> int:
        return 40 * len(text) + 100


class NoCoT(_Ablation):
    name = "addition-nocot"
    heads = 0
    reverse = False

    def answer(self, text: str) -> str:
        s = super().answer(text)
        return s[::-1] if self.reverse else s

    def teacher(self, codec):
        def program(text):
            yield codec.ANS
            for t in codec.text_tokens(self.answer(text)):
                yield t
            yield codec.EOS

        return CallProgramPolicy(codec, program, with_input=True)


class Reversed(NoCoT):
    name = "addition-reversed"
    reverse = True


def calculator(args: str) -> str:
    """The single-turn tool: ``add a,b`` -> the sum; bad arguments answer with an error."""
    m = _ARGS.match(args or "")
    if not m:
        return f"error: add takes two non-negative integers, e.g. `add 123,456`; got {args!r}"
    return _add_strings(m.group(1), m.group(2))


class Calculator(_Ablation):
    name = "addition-calc"
    heads = 0

    @staticmethod
    def call_tools(tape) -> dict:
        return {"add": calculator}

    def teacher(self, codec):
        def program(text):
            a, b = _operands(text)
            result = yield from call(codec, f"add {a},{b}")
            yield codec.ANS
            for t in codec.text_tokens(result):
                yield t
            yield codec.EOS

        return CallProgramPolicy(codec, program, with_input=True)


class Predicted(_Ablation):
    name = "addition-predicted"
    heads = 0

    def teacher(self, codec):
        return CallProgramPolicy(codec, lambda text: _predicted(codec, text, self.answer(text)), with_input=True)


def _predicted(c, text: str, answer: str):
    """Runs addition's program against a replica of the tape it would have had (the input plus its
    own thoughts), spells its commands as thoughts, and writes each read's symbol itself."""
    V = c.vocab
    spell = {V.tape(h, op): f"{sym}{h}" for h in (1, 2, 3) for op, sym in (("left", "<"), ("right", ">"))}
    reads = {V.tape(h, "read"): h for h in (1, 2, 3)}
    stand_in = {"[BOS]": "^", "[ANS]": "|", "[END]": "_"}
    replica = PointerTape(["[BOS]"] + list(text), heads=3)
    gen = addition_program(c)
    value = None
    while True:
        t = gen.send(value)
        value = None
        if t == c.ANS:  # phases 4-5 would read the sum back: without a tool it is written directly
            break
        if t in reads:
            value = replica.read(reads[t])
            for ch in f"?{reads[t]}" + stand_in.get(value, value):
                yield c.token(ch)
        elif t in spell:
            replica.apply(*c.commands[t])
            for ch in spell[t]:
                yield c.token(ch)
        else:  # a thought of addition's (a sum digit or a carry): it is on the tape
            replica.append(c.symbol(t))
            yield t
    gen.close()
    yield c.ANS
    for t in c.text_tokens(answer):
        yield t
    yield c.EOS


NOCOT = NoCoT()
REVERSED = Reversed()
CALC = Calculator()
PREDICTED = Predicted()
