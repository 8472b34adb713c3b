"""Training: compiled steps kept across processes (stepcache), the reference loop and the batched
trainer (trainer), the Dask backend (cluster), the arithmetic fingerprint."""
