"""The book: tables and plots for pages, chapter helpers (book), the build and the gate (bookbuild,
audit), PAPER.md (paper), the Sphinx extension."""
