"""The results store: atomic writes, the result schema (no torch), results files, the run cache,
and the comparison of a rebuilt results file with the committed one (drift)."""
