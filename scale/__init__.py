"""The Dask engine: previ's pandas steps mapped over a bundle partitioned by young person.

:mod:`scale.partition` writes the partitioned bundle, :mod:`scale.cluster`
connects to a cluster (or starts a local one), and :mod:`scale.features`,
:mod:`scale.validate` run the pandas code of ``previ features`` and
``previ validate`` once per bucket; ``previ score`` does the same through
:mod:`service.batch_dask`, which sits beside the service's batch scoring it maps
(it writes the service's snapshot, so it cannot live below the service).
docs/scale.md says how to run it on a real cluster and what it costs.
"""
