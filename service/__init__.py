"""The scoring service: explained scores, tiers and referrals over HTTP, behind roles and an audit log.

``service.main.create_app`` builds the FastAPI app; ``previ serve`` runs it with
uvicorn and ``previ score`` writes the batch snapshots it reads. Every score,
whether from ``POST /v1/scores``, the batch endpoint or a snapshot, goes through
:mod:`service.scoring`, so the API, the batch job and (later) the pages agree.
"""
