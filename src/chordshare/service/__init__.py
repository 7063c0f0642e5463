"""The composition root: a node's configuration and the service that runs it."""

from chordshare.service.config import NodeConfig
from chordshare.service.loading import load_config
from chordshare.service.node_service import NodeService, serve

__all__ = ["NodeConfig", "NodeService", "load_config", "serve"]
