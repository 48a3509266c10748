"""Architecture configuration for every policy network, stored as JSON in checkpoints.

One dataclass for all architectures (``arch``: ``mamba2``, ``transformer``, ``lstm``, ``gru``);
fields that an architecture does not use are ignored by it. The Mamba-2 fields follow mamba-ssm's
``MambaConfig`` + ``Mamba2`` arguments, so ``ModelConfig.mamba_ssm_config()`` builds the identical
``MambaLMHeadModel`` (same parameter names and shapes).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .schema import Field, check_fields

ARCHS = ("mamba2", "transformer", "lstm", "gru")
_DIM = 1 << 16  # widths (d_model, heads, states, hidden): 256x the shipped policy's d_model
# Every field's type and range, checked by ``from_json`` (a checkpoint's config is untrusted input)
# before anything is built; ranges are far above any network we train and far below what a field
# alone could make take a host's memory. How big the network gets as a whole is then checked
# against the weights file itself (model/weights_header.py).
FIELDS = {
    "arch": Field(str, choices=ARCHS),
    "vocab_size": Field(int, 1, 1 << 16),
    "pad_vocab_size_multiple": Field(int, 1, 1024),
    "d_model": Field(int, 1, _DIM),
    "n_layer": Field(int, 1, 1024),
    "d_state": Field(int, 1, 4096),
    "d_conv": Field(int, 1, 64),
    "expand": Field(int, 1, 64),
    "headdim": Field(int, 1, _DIM),
    "ngroups": Field(int, 1, _DIM),
    "chunk_size": Field(int, 1, 1 << 16),
    "A_init_range": Field(list, 1e-6, 1e6, length=2),
    "dt_min": Field(float, 1e-12, 1e3),
    "dt_max": Field(float, 1e-12, 1e3),
    "dt_init_floor": Field(float, 0.0, 1e3),
    "norm_epsilon": Field(float, 0.0, 1.0),
    "residual_in_fp32": Field(bool),
    "tie_embeddings": Field(bool),
    "n_head": Field(int, 1, 4096),
    "d_intermediate": Field(int, 0, 1 << 20),
    "rope_base": Field(float, 1.0, 1e12),
    "sliding_window": Field(int, 0, 1 << 24),
    "max_cache": Field(int, 0, 1 << 24),
    "rnn_hidden": Field(int, 0, _DIM),
}


@dataclass
class ModelConfig:
    arch: str = "mamba2"
    vocab_size: int = 288  # real tokens; the embedding is padded to pad_vocab_size_multiple
    pad_vocab_size_multiple: int = 16
    d_model: int = 256
    n_layer: int = 4
    # Mamba-2 (mamba-ssm Mamba2 defaults except d_state 64, as in docs/gpu.md's configurations)
    d_state: int = 64
    d_conv: int = 4
    expand: int = 2
    headdim: int = 64
    ngroups: int = 1
    chunk_size: int = 256
    A_init_range: tuple = (1.0, 16.0)
    dt_min: float = 0.001
    dt_max: float = 0.1
    dt_init_floor: float = 1e-4
    norm_epsilon: float = 1e-5
    residual_in_fp32: bool = True
    tie_embeddings: bool = True
    # Transformer (Pythia-like with RoPE; Mistral-like when sliding_window > 0)
    n_head: int = 8
    d_intermediate: int = 0  # 0: 4 * d_model for the Transformer MLP
    rope_base: float = 10000.0
    sliding_window: int = 0  # 0 = full causal attention
    max_cache: int = 0  # 0 = grow the KV cache as needed
    # LSTM / GRU
    rnn_hidden: int = 0  # 0: d_model

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise ValueError(f"unknown architecture {self.arch!r}; choose one of {', '.join(ARCHS)}")
        self.A_init_range = tuple(self.A_init_range)

    @property
    def padded_vocab_size(self) -> int:
        m = self.pad_vocab_size_multiple
        return (self.vocab_size + m - 1) // m * m

    @property
    def d_inner(self) -> int:
        return self.expand * self.d_model

    @property
    def nheads(self) -> int:
        return self.d_inner // self.headdim

    def to_json(self) -> dict:
        d = asdict(self)
        d["A_init_range"] = list(self.A_init_range)
        return d

    @classmethod
    def from_json(cls, data: dict) -> "ModelConfig":
        """The config of untrusted JSON: every field typed and bounded (``FIELDS``), the shapes
        consistent for the architecture; ``ValueError`` naming the first field that is not."""
        check_fields("model config", data, FIELDS)
        config = cls(**data)
        config.check_shapes()
        return config

    def check_shapes(self) -> None:
        """The divisibility rules the architecture's modules rely on (they would assert or fail later)."""
        problems = []
        if self.arch == "mamba2":
            if self.d_inner % self.headdim:
                problems.append(f"d_inner {self.d_inner} (expand x d_model) is not a multiple of headdim {self.headdim}")
            elif self.nheads % self.ngroups:
                problems.append(f"the {self.nheads} heads do not split into ngroups = {self.ngroups}")
            if self.dt_min > self.dt_max:
                problems.append(f"dt_min {self.dt_min} > dt_max {self.dt_max}")
            if self.A_init_range[0] > self.A_init_range[1]:
                problems.append(f"A_init_range {list(self.A_init_range)} is not increasing")
        elif self.arch == "transformer":
            if self.d_model % self.n_head or (self.d_model // self.n_head) % 2:
                problems.append(f"d_model {self.d_model} does not split into {self.n_head} heads of even size")
        if problems:
            raise ValueError("model config: " + "; ".join(problems))

    def mamba_ssm_config(self) -> dict:
        """Keyword arguments for mamba-ssm's ``MambaConfig`` giving the same network."""
        return dict(
            d_model=self.d_model,
            d_intermediate=0,
            n_layer=self.n_layer,
            vocab_size=self.vocab_size,
            ssm_cfg=dict(
                layer="Mamba2",
                d_state=self.d_state,
                d_conv=self.d_conv,
                expand=self.expand,
                headdim=self.headdim,
                ngroups=self.ngroups,
                chunk_size=self.chunk_size,
                A_init_range=self.A_init_range,
                dt_min=self.dt_min,
                dt_max=self.dt_max,
                dt_init_floor=self.dt_init_floor,
                # the fused path needs causal-conv1d's CUDA extension, absent here (docs/gpu.md)
                use_mem_eff_path=False,
            ),
            rms_norm=True,
            residual_in_fp32=self.residual_in_fp32,
            fused_add_norm=True,
            pad_vocab_size_multiple=self.pad_vocab_size_multiple,
            tie_embeddings=self.tie_embeddings,
        )
