"""The Dask engine: previ's pandas steps mapped over a bundle partitioned by young person.

:mod:`scale.partition` writes the partitioned bundle, :mod:`scale.cluster`
connects to a cluster (or starts a local one), and :mod:`scale.features`,
:mod:`scale.validate` and :mod:`scale.score` run the pandas code of
``previ features``, ``previ validate`` and ``previ score`` once per bucket.
docs/scale.md says how to run it on a real cluster and what it costs.
"""
