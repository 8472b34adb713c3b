"""Experiments: sweep, tuning and around specs (specs), their runner (study, tuning), the
multiverse's sweep files."""
