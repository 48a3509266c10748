"""Training: the loop (masked loss, AdamW, warmup + cosine, bf16), the resumable training state,
DDP set-up, and progress reporting."""
