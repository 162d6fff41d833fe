"""The test suite's own real parts.

`dists`: wheels and sdists built on the fly (with `backend.py`, the in-tree PEP 517 backend the
sdists carry); `index`: package indexes on loopback (the real pypiserver, and a static PEP 691/503
index with failure switches).
"""
