"""Batched greedy decoding with an explicit state, and its CUDA-graph fast path.

``BatchDecoder`` owns one decoding state for ``batch_size`` rows and offers ``prefill(ids[B, T])``
and ``step(ids[B])``, each returning the argmax token per row (over the first ``vocab_size``
logits) as a Python list: the one device-to-host transfer per step that a tool loop needs.

On CUDA with ``cuda_graph=True`` the step (embedding -> layers -> head -> argmax) is captured once
in a CUDA graph over static input/state buffers and replayed, which removes the kernel-launch
overhead that dominates small-model decoding (docs/gpu.md: ~6k tok/s eager at batch 1 vs far more
replayed). On CPU, ``compile_cpu=True`` runs the step through ``torch.compile`` instead. The eager
``model.step`` is the reference twin of both; tests/model/test_gpu_parity.py and
tests/model/test_compiled_step.py check that they give the same tokens.
"""

from __future__ import annotations

import torch

from .protocol import DecodingModel


class BatchDecoder:
    def __init__(self, model: DecodingModel, batch_size: int, vocab_size: int, device=None,
                 cuda_graph: bool = True, autocast_bf16: bool = False, compile_cpu: bool = False):
        self.model = model.eval()
        self.batch_size = batch_size
        self.vocab_size = vocab_size
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.autocast = autocast_bf16 and self.device.type == "cuda"
        self.state = model.allocate_state(batch_size, device=self.device)
        self._ids = torch.zeros(batch_size, dtype=torch.long, device=self.device)
        self._out = torch.zeros(batch_size, dtype=torch.long, device=self.device)
        self.graph = None
        # On CPU the step is bound by per-op overhead (~170 small ops); torch.compile fuses them
        # (~2.5x measured, docs/benchmarks.md) at the price of a compile (~30 s cold, ~4 s cached).
        self._step_fn = torch.compile(model.step, dynamic=False) if compile_cpu and self.device.type == "cpu" \
            else model.step
        # Only Mamba-2 updates its (fixed-size) state in place, which a captured graph requires.
        self._static = getattr(model.config, "arch", "") == "mamba2"
        self._want_graph = cuda_graph and self.device.type == "cuda" and self._static

    def _ctx(self):
        if self.autocast:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return torch.autocast(self.device.type, enabled=False)

    def _step_eager(self) -> None:
        logits = self._step_fn(self._ids, self.state)  # [B, padded_vocab]
        self._out.copy_(logits[:, : self.vocab_size].argmax(-1))

    def _capture(self) -> None:
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        saved = [t.clone() for t in self.state.tensors()]
        with torch.cuda.stream(s), torch.inference_mode(), self._ctx():
            for _ in range(3):  # warm up (Triton autotuning, allocator) outside the graph
                self._step_eager()
        torch.cuda.current_stream().wait_stream(s)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph), torch.inference_mode(), self._ctx():
            self._step_eager()
        for t, v in zip(self.state.tensors(), saved):  # capture ran the step; undo it
            t.copy_(v)

    @torch.inference_mode()
    def prefill(self, ids: torch.Tensor) -> list[int]:
        """ids [B, T]: fresh episodes (the state is reset first). Returns each row's next token."""
        if self._static:
            for t in self.state.tensors():
                t.zero_()
        else:
            self.state = self.model.allocate_state(self.batch_size, device=self.device)
        with self._ctx():
            logits = self.model.prefill(ids.to(self.device), self.state, last_only=True)[:, : self.vocab_size]
        return logits.argmax(-1).tolist()

    @torch.inference_mode()
    def step(self, tokens: list[int]) -> list[int]:
        """Feed one token per row; returns each row's argmax next token."""
        self._ids.copy_(torch.as_tensor(tokens, dtype=torch.long), non_blocking=False)
        if self._want_graph and self.graph is None:
            self._capture()
        if self.graph is not None:
            self.graph.replay()
        else:
            with self._ctx():
                self._step_eager()
        return self._out.tolist()
