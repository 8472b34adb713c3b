"""Analysis: verdicts computed from results passed in (claims, capacity, the multiverse); it imports
no torch and reads no files."""
