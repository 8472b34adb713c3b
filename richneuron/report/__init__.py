"""The book: a page's helpers (book, chapter, method, synthesis, second_opinion, related), the
figures (plots, sweep_plots), the build (build), the drift gate (gate, audit) and their command
line (bookbuild), PAPER.md (paper), the Sphinx extension."""
