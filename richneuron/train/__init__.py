"""Training: the reference loop (reference), the compiled step (steps) and its copies kept
across processes (stepcache), one chunk of runs trained together (trainer), chunks spread over
local worker processes (pool) or a Dask cluster (cluster), and the arithmetic fingerprint."""
