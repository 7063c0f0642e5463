"""One contract, two transports: every scenario runs over the in-memory twin and real gRPC."""
