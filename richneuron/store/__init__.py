"""The results store: atomic writes, the result schema (no torch), results files and the run
cache."""
