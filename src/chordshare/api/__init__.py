"""The REST face of a node (FastAPI): routes, schemas, error mapping, metrics.

:func:`create_app` (``chordshare.api.app``) builds the FastAPI app of one node. The models in
``chordshare.api.schemas`` are the API's wire contract; the typed clients that speak it live in
:mod:`chordshare.client`. This package imports nothing on import, so the client can read the
schemas without paying for FastAPI.
"""
