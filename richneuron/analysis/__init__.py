"""Analysis: verdicts computed from results passed in (rules, claims, mechanisms, cost, ledgers,
capacity and the Capacity chapter's findings, the multiverse, scaling). It reads no files: what a
claim needs beyond results comes in as :class:`~richneuron.analysis.rules.Facts`. It imports no
torch (it reads the catalogue of architectures, :mod:`richneuron.architectures`, and the tasks'
descriptions); ``tests/test_layers.py`` holds this."""
