"""gRPC adapter of the transfer subsystem: streaming download and upload, client, codec, servicer
and status mapping."""
