"""The pinned arithmetic: the environment and thread pinning (determinism), the fixed-rounding
matrix products (products, with their C++ in csrc/)."""
