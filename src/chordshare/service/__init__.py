"""The composition root: a node's configuration and the service that runs it.

* :mod:`chordshare.service.config`: ``NodeConfig``, the one settings model;
* :mod:`chordshare.service.loading`: ``load_config`` (file < environment < flags, one-line errors);
* :mod:`chordshare.service.node_service`: ``NodeService`` (lifecycle) and ``serve`` (signals);
* :mod:`chordshare.service.bootstrap`: seed discovery and the join with retries;
* :mod:`chordshare.service.rest`: uvicorn inside the node's event loop;
* :mod:`chordshare.service.logs`: log records stamped with the node's short id.

Nothing is re-exported here, so that reading the config (the CLI does it before anything else)
does not import gRPC, FastAPI and uvicorn.
"""
