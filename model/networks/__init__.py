"""The networks behind the decoding protocol: Mamba-2 (the mixer, the LM, the chunked SSD scan)
and the baselines (Transformer, LSTM and GRU)."""
