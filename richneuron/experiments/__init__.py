"""Experiments: what every spec shares and the runner that keeps stored runs (specs), sweeps and
studies (study), fair tuning (tuning) and what it found (tuning_results), the multiverse's sweep
files."""
