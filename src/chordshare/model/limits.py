"""Limits and defaults of the protocol that more than one layer needs, each defined once with
its reason: what the wire, the node, the store, the config and the client must agree on. Bounds
on one domain value stay with it (piece sizes in ``model.manifest``, a record's shape in
``model.records``), and module-local bounds (a codec's id width, names per ListNames reply)
beside the code they bound.
"""

from __future__ import annotations

DEFAULT_CHUNK_BYTES = 1 << 20
"""1 MiB of data per message: measured fastest on loopback (``bench/transfer.py``):
64 KiB messages halve throughput (per-message cost dominates), 4 MiB ones are slower again
(larger copies fall out of cache and flow-control windows stall)."""

MAX_MESSAGE_BYTES = 4 << 20
"""4 MiB, gRPC's own default receive limit, for every message between nodes. Ring messages are
tiny (a node-info reply with r = 16 successors is about 1.5 KiB); the cap exists for the
file-transfer stream served on the same server, whose chunks must fit with room for framing, and
it bounds what a misbehaving peer can make a node buffer for one message. Record messages fill
only :data:`RECORD_PAGE_BYTES` of it."""

RECORD_PAGE_BYTES = MAX_MESSAGE_BYTES * 3 // 4
"""3 MiB of estimated record bytes per page or batch of records (a StoreRecords request, a
FetchRange reply, a page read from the store): three quarters of the message cap, leaving 1 MiB
for framing and for the error of ``chordshare.model.records.encoded_size``. The largest single
record (``MAX_PIECES_PER_RECORD`` piece hashes) fits, so every page makes progress. A node
configured with another cap keeps the same proportion
(``chordshare.transport.ports.records.message_budget``)."""

MAX_RECORDS_PER_CALL = 256
"""Records in one StoreRecords request, one FetchRange/GetRecords reply or one page read from the
store. Each call is one SQLite transaction on the receiver; 256 typical records (a few KiB each)
take milliseconds, so a busy node interleaves other calls and no call nears the RPC deadline."""

DEFAULT_MAX_FILE_BYTES = 16 << 30
"""16 GiB: the largest file a node shares, accepts in an upload or downloads unless configured
otherwise. It bounds the disk one upload can claim and the piece list of a record (16,384
hashes at the default 1 MiB pieces, well within ``MAX_PIECES_PER_RECORD``)."""

DEFAULT_MAX_STREAMS_PER_PEER = 4
"""Concurrent Download/Upload streams one remote peer may have open on a node: enough to fill a
link, few enough that one peer cannot monopolise the node (a downloader spreads over several
providers instead of opening many streams to one)."""

MAX_ADDRESS_CHARS = 1024
"""Longest gRPC address of a peer or a provider: a host name is at most 253 characters and a
port 5 digits; anything far longer is garbage or an attempt to make every node that learns the
peer store and forward a large string."""

MAX_URL_CHARS = 2048
"""Longest REST URL (a peer's base URL, a provider's download URI): the de facto URL limit of
browsers and HTTP servers."""

MIN_UPLOAD_RATE = 1 << 20
"""1 MiB/s: the slowest link an upload is given time for, by the CLI's REST upload and by a
node's gRPC upload to a holder (deadline = timeout + size / rate). Slower than that, an upload
of a large file would tie a holder's stream slot for hours; a 1 GiB upload gets about 17 min."""

DEFAULT_REPLICAS = 3
"""k = 3: a record (and an uploaded file) lives on the owner of its key and the next k - 1
successors, so it survives any 2 simultaneous failures among its holders, which between repair
rounds is what independent crashes realistically produce (p^3 = 12.5% of keys lost when half
the nodes fail at once); each extra copy costs one more store per publish and one more replica
to keep in sync. The paper's §5 leaves k to the application; CFS/DHash use a similar small k."""

DEFAULT_PROVIDER_TTL = 1800.0
"""Seconds a provider entry stays valid unless its provider republishes: 30 minutes, three times
the default republish interval (10 minutes), so two missed republishes do not drop a live
provider, while a vanished one is tried by downloaders for at most half an hour."""

MAX_CLOCK_SKEW = 60.0
"""Seconds a node's wall clock may run ahead of another's. A provider entry that expires later
than the receiver's ``now + provider TTL + MAX_CLOCK_SKEW`` was not made by an honest node with a
sane clock: the receiver clamps its expiry to that bound, so nobody can plant an entry that
outlives its provider's silence by more than one TTL."""
