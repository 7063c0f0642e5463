"""DHT records over the ring: put/get on the owner and its successors, hand-over, anti-entropy
repair, publishing."""
