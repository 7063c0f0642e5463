"""Generated protobuf and gRPC modules; do not edit. Regenerate with ``make proto``
(``python -m chordshare.transport.grpc.codegen``) from ``../protos``."""
