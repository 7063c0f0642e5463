"""``GET /api/v1/network/search``: the names that contain every word of a query.

The node asks the owner of each word's key for the word's entries
(:func:`chordshare.node.records.search.search`) and intersects them; the page is cut from the
sorted answer, through the node's file sharing (:meth:`FilesFacade.search`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from chordshare.api.deps import FilesDep
from chordshare.api.errors import error_responses
from chordshare.api.schemas.search import (
    MAX_SEARCH_PAGE,
    SEARCH_PATH,
    SearchAnswer,
    SearchHitView,
)
from chordshare.model.names import MAX_NAME_BYTES

API_PREFIX = "/api/v1"
"""The file routes' prefix, which this router is included under."""

router = APIRouter(tags=["files"])

DEFAULT_SEARCH_PAGE = 50


@router.get(
    SEARCH_PATH.removeprefix(API_PREFIX),
    summary="Find names by their words",
    description="The names that contain every word of `q` (words: lower-cased runs of letters "
    "or of digits; `random20.bin` is `random`, `20`, `bin`; a lone letter is no word; a name is "
    "indexed under its first 16 words), sorted, each with its variants (content hash, size, "
    "live providers). Paginated by `offset` and `limit`. 400 for a query without a word.",
    response_model=SearchAnswer,
    responses=error_responses(400, 422, 503, 504),
)
async def search_network(
    files: FilesDep,
    q: Annotated[str, Query(min_length=1, max_length=MAX_NAME_BYTES, description="Words to find.")],
    offset: Annotated[int, Query(ge=0, description="Names to skip.")] = 0,
    limit: Annotated[
        int, Query(ge=1, le=MAX_SEARCH_PAGE, description="Most names per page.")
    ] = DEFAULT_SEARCH_PAGE,
) -> SearchAnswer:
    result = await files.search(q)
    total = len(result.hits)
    page = result.hits[offset : offset + limit]
    return SearchAnswer(
        query=q,
        words=list(result.words),
        total=total,
        offset=offset,
        limit=limit,
        next_offset=offset + limit if offset + limit < total else None,
        truncated=result.truncated,
        names=[SearchHitView.of(hit) for hit in page],
    )
