"""Analysis: verdicts computed from results passed in (rules, claims, mechanisms, cost, ledgers,
capacity, the multiverse, scaling). It reads no files: what a claim needs beyond results comes in
as :class:`~richneuron.analysis.rules.Facts`. It still imports torch through the architecture
registry and the tasks it consults (:mod:`richneuron.neurons`, :mod:`richneuron.tasks`)."""
