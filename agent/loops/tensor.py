"""Many tape-only episodes in lockstep with the tape on the device: no host sync per token.

``run_tensor_batched`` is the device-resident twin of ``batched.run_batched`` (its reference:
tests/agent/test_tensor_loop.py checks token-for-token equality of every trajectory field but
``seconds``). ``run_batched`` moves every token to Python (argmax -> ``Episode.accept`` -> tape ->
next token), one host sync per lockstep step. Here each row's pointer tape, token record and the
per-token rules of ``Episode.accept``/``check_limits`` are tensors, so a step is pure tensor ops:

- memory [B, Lm] token ids (a tape symbol is its token's symbol, ``codec.symbol``, and
  ``codec.token(codec.symbol(t)) == t`` for every id, so a read observes the stored id itself),
  lengths [B], heads [B, H] (0-based; ``lengths`` means past the end, where reads see ``[END]``);
- tokens [B, T] (int32; the prompt, then every written and observed token), tlen [B];
- per row: output mode, pending observation (the token to feed next, -1 if none), done, exit code,
  malformed run, counts [B, 6] (generated, observations, tool_calls, thoughts, outputs, malformed).

The host looks at ``done`` only every ``sync_every`` steps (and grows the buffers then). On CUDA,
for Mamba-2 (fixed-size, in-place state), the whole step (tape rules + model step + argmax) is
captured in one CUDA graph over static buffers and replayed; elsewhere it runs eagerly.

``compile`` puts part of the step through ``torch.compile`` (inductor). At batch 1-16 a step is
launch-bound, not math-bound: the tape rules are ~60 tiny element-wise ops and the network's step
~50 kernels, a few microseconds each. ``"rules"`` fuses the tape rules (the network keeps its fast
path, mamba-ssm's Triton kernels on CUDA); ``"all"`` fuses the rules and the network's pure-PyTorch
reference step together (``models.reference_path``); ``"all-kernels"`` traces the network with its
Triton kernels. The big buffers (tokens, memory) stay outside the compiled part either way: they are
read and written with one eager kernel each, so they can grow without a recompile and are never
copied. ``tapehead.evals.bench_loops`` measures the variants (docs/benchmarks.md).

Tape-only protocol. Multi-token tools are not implemented: ``call_tools`` raises ``ValueError``
(use ``run_batched``). A row whose policy writes ``[CALL]`` stops here and is re-run, from its
prompt, by ``run_batched`` without call tools (its trajectory is then exactly run_batched's: the
unknown tool is answered with an error span). So every returned trajectory is run_batched's; a
policy that writes ``[CALL]`` often just loses the speed-up for those rows.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Sequence

from tapehead.agent.trace.codec import Codec
from tapehead.agent.trace.trajectory import Trajectory
from . import snapshot as loop_snapshot
from .episode import Limits, check_input_size
from .snapshot import Suspend, Suspended

EXITS = {1: "eos", 2: "max_tokens", 3: "max_tool_calls", 4: "malformed"}
CALL_EXIT = 5  # wrote [CALL]: re-run by run_batched
# compile= values: what goes through torch.compile (True: the fastest measured on the GPU, docs/benchmarks.md)
FUSE = {False: "off", "off": "off", "rules": "rules", "all": "all", "all-kernels": "all-kernels", True: "all"}
COUNT_KEYS = ("generated", "observations", "tool_calls", "thoughts", "outputs", "malformed")


def run_tensor_batched(model, codec: Codec, texts: Sequence[str], *, task: str = "", limits: Limits | None = None,
                       batch_size: int = 64, device=None, sync_every: int = 1024, policy_name: str = "",
                       on_step: Callable[[int, int], None] | None = None, call_tools=None,
                       cuda_graph: bool = True, compile: bool | str = False,
                       suspend: Suspend | None = None) -> list[Trajectory]:
    """``model`` follows model/protocol.py (allocate_state, prefill, step). Same arguments and
    results as ``run_batched`` (``on_step(done, total)`` is called at each host sync). ``suspend``
    (one batch of equal-length prompts only): stop after ``suspend.after_s`` seconds, keep the run in
    ``suspend.path`` and raise ``Suspended``; a run of the same problems resumes from that file
    (``tapehead.agent.loops.snapshot``)."""
    import torch

    from tapehead.agent import models
    from .batched import run_batched

    if call_tools:
        raise ValueError("run_tensor_batched runs tape-only tasks; use run_batched for tasks with call_tools")
    limits = limits or Limits()
    for text in texts:
        check_input_size(text, limits)
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    model = model.eval()
    order: dict[int, list[int]] = {}
    for i, text in enumerate(texts):
        order.setdefault(len(codec.prompt(text)), []).append(i)
    if suspend is not None and (len(order) != 1 or len(texts) > batch_size):
        raise ValueError("suspend needs one lockstep batch: problems of one prompt length, at most batch_size of them")
    out: list[Trajectory | None] = [None] * len(texts)
    redo: list[int] = []
    done_total = 0
    for plen, idx in sorted(order.items()):
        for s in range(0, len(idx), batch_size):
            chunk = idx[s:s + batch_size]
            prompts = [codec.prompt(texts[i]) for i in chunk]
            rows = _run_chunk(model, codec, prompts, limits, dev, max(1, sync_every), cuda_graph,
                              lambda d: on_step(done_total + d, len(texts)) if on_step else None, compile,
                              suspend)
            for i, (toks, exit_code, counts, secs) in zip(chunk, rows):
                if exit_code == CALL_EXIT:
                    redo.append(i)
                    continue
                out[i] = Trajectory(task=task, input=texts[i], prompt_len=plen, tokens=toks,
                                    answer=codec.answer(toks, plen), exit=EXITS[exit_code], counts=counts,
                                    seconds=round(secs, 6), policy=policy_name)
            done_total += len(chunk)
    if suspend is not None:  # finished: the snapshot is spent (a rerun would only redo the end)
        Path(suspend.path).unlink(missing_ok=True)
    if redo:  # rows that wrote [CALL]: the reference loop answers them (an unknown tool: error span)
        decs: dict[int, object] = {}

        def factory(b):
            return decs.get(b) or decs.setdefault(b, models.decoder(model, b, device=dev, cuda_graph=cuda_graph))

        again = run_batched(factory, codec, [texts[i] for i in redo], task=task, limits=limits,
                            batch_size=batch_size, policy_name=policy_name)
        for i, tr in zip(redo, again):
            out[i] = tr
    if on_step is not None:
        on_step(len(texts), len(texts))
    return out  # type: ignore[return-value]


def _run_chunk(model, codec: Codec, prompts: list[list[int]], limits: Limits, dev, sync_every: int,
               cuda_graph: bool, report, compile: bool | str = False, suspend: Suspend | None = None) -> list[tuple[list[int], int, dict, float]]:
    """One group of equal-length prompts to the end; per row (tokens, exit code, counts, seconds)."""
    import torch

    from tapehead.agent import models

    B, P, H, V = len(prompts), len(prompts[0]), codec.heads, codec.vocab.size
    max_tokens = limits.max_tokens
    max_calls = limits.max_tool_calls if limits.max_tool_calls is not None else 2 ** 62
    max_mal = limits.max_consecutive_malformed
    L = lambda x: torch.as_tensor(x, dtype=torch.long, device=dev)  # noqa: E731
    # per-token tables [codec.size]: command head (0-based, -1: not a command), op (0 init .. 3 read), invalid
    cmd_head = L([c[0] - 1 if c else -1 for c in codec.commands])
    cmd_op = L([("init", "left", "right", "read").index(c[1]) if c else 0 for c in codec.commands])
    invalid = torch.tensor([bool(x) for x in codec.invalid], device=dev)
    invalid[codec.CALL_END] = True  # a [/CALL] outside a call is answered with [ERR] (TraceReader)
    EOS, ANS, CALL, PAD, END, ERR = codec.EOS, codec.ANS, codec.CALL, codec.PAD, codec.END, codec.ERR
    hard_t, hard_m = P + max_tokens + 2, P + max_tokens + 1  # most a row can ever hold
    prompt = L(prompts)  # [B, P]

    def zeros(*shape, dtype=torch.long):
        return torch.zeros(*shape, dtype=dtype, device=dev)

    S = dict(  # the static state of the step (updated in place so a captured graph sees it)
        tokens=zeros(B, min(hard_t, P + 4 * sync_every + 2), dtype=torch.int32),  # [B, T]
        mem=zeros(B, min(hard_m, P + 2 * sync_every + 1)),  # [B, Lm]
        tlen=torch.full((B,), P, dtype=torch.long, device=dev), length=torch.full((B,), P, dtype=torch.long, device=dev),
        heads=zeros(B, H), mode=zeros(B, dtype=torch.bool), pend=torch.full((B,), -1, dtype=torch.long, device=dev),
        done=zeros(B, dtype=torch.bool), exit=zeros(B), run=zeros(B), counts=zeros(B, 6),
        feed=zeros(B), prop=zeros(B),
    )
    S["tokens"][:, :P] = prompt.to(torch.int32)
    S["mem"][:, :P] = prompt
    state = model.allocate_state(B, device=dev)

    # The step in three parts. ``rules`` touches only the small per-row state ([B] and [B, H]) and
    # returns where and what to write; the big buffers (tokens [B, T], mem [B, Lm]) are read and
    # written eagerly by ``gather``/``write`` with one kernel each, so that a compiled ``rules``
    # never copies them (a functionalised scatter on a graph input can copy it whole).
    def gather() -> torch.Tensor:  # [B, H]: the symbol under every head (past the end: junk, masked)
        return S["mem"].gather(1, S["heads"].clamp(max=S["mem"].shape[1] - 1))

    def rules(sym_all: torch.Tensor):
        tlen, length, heads = S["tlen"], S["length"], S["heads"]
        counts, done, pend, tok = S["counts"], S["done"], S["pend"], S["prop"]  # tok [B]: the policy's argmax
        had = pend >= 0  # [B] an observation is queued: feed it, ignore the proposal
        free = ~done & ~had  # rows that check limits and accept (Episode.check_limits / accept)
        over_tok = free & (tlen - P >= max_tokens)
        over_calls = free & ~over_tok & (counts[:, 2] >= max_calls)
        acc = free & ~over_tok & ~over_calls
        head, op = cmd_head[tok], cmd_op[tok]  # [B]
        is_cmd, is_eos, is_call, is_inv = head >= 0, tok == EOS, tok == CALL, invalid[tok]
        a_cmd, a_inv, a_eos, a_call = acc & is_cmd, acc & is_inv, acc & is_eos, acc & is_call
        a_mem = acc & ~(is_cmd | is_eos | is_call | is_inv)  # thought, [ANS] or output
        # the token is recorded at tlen and (as a symbol) at length; writes past a row's counted data
        # are harmless
        at_tok, at_mem = tlen.clone(), length.clone()
        tlen1 = tlen + acc
        is_out = S["mode"] & (tok != ANS)
        inc = torch.stack([acc, a_inv | (a_cmd & (op == 3)), a_cmd, a_mem & ~is_out, a_mem & is_out, a_inv], 1)
        S["mode"].logical_or_(a_mem & (tok == ANS))
        # tape command on head `head`: pos [B] before, new position after; a read sees the symbol at pos
        # (the write at `length` above never changes a position < length, the only ones a read shows)
        hidx = head.clamp(min=0)[:, None]  # [B, 1]
        pos = heads.gather(1, hidx)[:, 0]
        sym = sym_all.gather(1, hidx)[:, 0]
        new = torch.where(op == 0, torch.zeros_like(pos), torch.where(
            op == 1, (pos - 1).clamp(min=0), torch.where(op == 2, torch.minimum(pos + 1, length), pos)))
        heads.scatter_(1, hidx, torch.where(a_cmd, new, pos)[:, None])
        has_obs = inc[:, 1]  # a read or an invalid token: one observation token
        obs = torch.where(a_inv, torch.full_like(tok, ERR), torch.where(pos < length, sym, torch.full_like(tok, END)))
        at_obs = tlen1.clone()
        tlen.copy_(tlen1 + has_obs)
        length.add_(a_mem.long())
        counts.add_(inc.long())
        run = torch.where(a_mem | a_cmd, torch.zeros_like(S["run"]), S["run"] + a_inv)
        S["run"].copy_(run)
        mal_end = a_inv & (run >= max_mal)
        ex = S["exit"]
        ex.copy_(torch.where(over_tok, 2, torch.where(over_calls, 3, torch.where(a_eos, 1, torch.where(
            mal_end, 4, torch.where(a_call, CALL_EXIT, ex))))))
        done.logical_or_(over_tok | over_calls | a_eos | mal_end | a_call)
        S["feed"].copy_(torch.where(had, pend, torch.where(acc & ~a_eos, tok, torch.full_like(tok, PAD))))
        pend.copy_(torch.where(has_obs, obs, torch.full_like(pend, -1)))
        return at_tok, tok.clone(), at_mem, at_obs, obs

    def network() -> None:
        logits = model.step(S["feed"], state)  # [B, padded_vocab]
        S["prop"].copy_(logits[:, :V].argmax(-1))

    def rules_and_network(sym_all):
        writes = rules(sym_all)
        network()
        return writes

    def write(at_tok, tok, at_mem, at_obs, obs) -> None:
        tokens, mem = S["tokens"], S["mem"]
        T, Lm = tokens.shape[1], mem.shape[1]
        tokens.scatter_(1, at_tok.clamp(max=T - 1)[:, None], tok.to(torch.int32)[:, None])
        mem.scatter_(1, at_mem.clamp(max=Lm - 1)[:, None], tok[:, None])
        tokens.scatter_(1, at_obs.clamp(max=T - 1)[:, None], obs.to(torch.int32)[:, None])

    if compile not in FUSE:
        raise ValueError(f"compile must be one of {', '.join(map(repr, FUSE))}, not {compile!r}")
    mode = FUSE[compile]
    if mode == "rules":
        fused = torch.compile(rules, dynamic=False)
    elif mode in ("all", "all-kernels"):
        fused = torch.compile(rules_and_network, dynamic=False)

    def step() -> None:
        if mode == "off":
            write(*rules(gather()))
            network()
        elif mode == "rules":
            write(*fused(gather()))
            network()
        elif mode == "all-kernels":  # the network's step traced with its Triton kernels
            write(*fused(gather()))
        else:
            with models.reference_path():  # traced (and guarded) on the reference path; prefill keeps the kernels
                write(*fused(gather()))

    use_graph = cuda_graph and dev.type == "cuda" and getattr(model.config, "arch", "") == "mamba2"
    graph = None

    def capture():
        keep = [t.clone() for t in list(S.values()) + state.tensors()]
        sd = torch.cuda.Stream()
        sd.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(sd):
            for _ in range(3):  # warm up (autotuning, compiling, allocator) outside the graph
                step()
        torch.cuda.current_stream().wait_stream(sd)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            step()
        for t, v in zip(list(S.values()) + state.tensors(), keep):  # the warm-up ran steps: undo them
            t.copy_(v)
        return g

    t0 = time.perf_counter()
    secs = [0.0] * B
    seen = [False] * B
    steps = 0
    resumed = suspend is not None and Path(suspend.path).exists()
    with torch.inference_mode():
        if resumed:  # go on from the saved step: buffers, per-row state, network state, proposal
            snap = loop_snapshot.load(suspend.path, prompts, S=S, state_tensors=state.tensors(),
                                      max_len={"tokens": hard_t, "mem": hard_m}, vocab_size=V)
            for k, v in snap["small"].items():
                S[k].copy_(v)
            for k, v in snap["big"].items():
                S[k] = torch.zeros(B, max(S[k].shape[1], v.shape[1] + 2 * sync_every + 2), dtype=S[k].dtype, device=dev)
                S[k][:, :v.shape[1]] = v.to(device=dev, dtype=S[k].dtype)
            for t, v in zip(state.tensors(), snap["state"]):
                t.copy_(v)
            steps, secs, seen = snap["steps"], snap["secs"], snap["seen"]
            t0 -= snap["seconds"]
        else:
            S["prop"].copy_(model.prefill(prompt, state, last_only=True)[:, :V].argmax(-1))
        t_call, steps_in = time.perf_counter(), steps  # each call runs at least sync_every steps
        while True:
            # host sync: who finished, and room for the next sync_every steps (<= 2 tokens, 1 symbol each)
            done = S["done"].tolist()
            now = time.perf_counter() - t0
            for r, d in enumerate(done):
                if d and not seen[r]:
                    seen[r], secs[r] = True, now
            if report:
                report(sum(done))
            if all(done):
                break
            if suspend is not None and steps > steps_in and time.perf_counter() - t_call > suspend.after_s:
                loop_snapshot.save(suspend.path, prompts, S, state.tensors(), steps=steps,
                                   seconds=time.perf_counter() - t0, secs=secs, seen=seen, sync_every=sync_every)
                raise Suspended(suspend.path, steps, sum(done), B)
            for key, hard, need in (("tokens", hard_t, 2 * sync_every + 2), ("mem", hard_m, sync_every + 1)):
                buf = S[key]
                used = int((S["tlen"] if key == "tokens" else S["length"]).max())
                if used + need > buf.shape[1] and buf.shape[1] < hard:
                    grown = torch.zeros(B, min(hard, max(2 * buf.shape[1], used + need)), dtype=buf.dtype, device=dev)
                    grown[:, :buf.shape[1]] = buf
                    S[key] = grown
                    graph = None  # the captured graph points at the old buffers
            if use_graph and graph is None:
                graph = capture()
            for _ in range(sync_every):
                graph.replay() if graph is not None else step()
            steps += sync_every
    tlen, exits, counts, tokens = S["tlen"].tolist(), S["exit"].tolist(), S["counts"].tolist(), S["tokens"]
    return [(tokens[r, :tlen[r]].tolist(), exits[r], dict(zip(COUNT_KEYS, counts[r])), secs[r]) for r in range(B)]
