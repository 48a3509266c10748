"""Architecture configuration for every policy network, stored as JSON in checkpoints.

One dataclass for all architectures (``arch``: ``mamba2``, ``transformer``, ``lstm``, ``gru``);
fields that an architecture does not use are ignored by it. The Mamba-2 fields follow mamba-ssm's
``MambaConfig`` + ``Mamba2`` arguments, so ``ModelConfig.mamba_ssm_config()`` builds the identical
``MambaLMHeadModel`` (same parameter names and shapes).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

ARCHS = ("mamba2", "transformer", "lstm", "gru")


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
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"model config has unknown fields {sorted(unknown)}: written by a newer tapehead?")
        return cls(**data)

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
