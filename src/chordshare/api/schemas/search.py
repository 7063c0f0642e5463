"""The REST wire contract of search: ``GET /api/v1/network/search`` (same rules as
:mod:`chordshare.api.schemas.files`: fields may be added, never renamed or removed)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chordshare.node.records.search import SearchHit

SEARCH_PATH = "/api/v1/network/search"
MAX_SEARCH_PAGE = 200
"""Names per page of a search at most (each with its variants: a few KiB of JSON)."""


class _Schema(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class VariantView(_Schema):
    """One content published under a found name."""

    content_hash: str = Field(description="BLAKE3 content hash, hex.")
    size: int
    providers: int = Field(description="Live providers its word entries list.")


class SearchHitView(_Schema):
    name: str
    variants: list[VariantView] = Field(
        min_length=1, description="Most providers first, then by content hash."
    )

    @classmethod
    def of(cls, hit: SearchHit) -> SearchHitView:
        return cls(
            name=hit.name,
            variants=[
                VariantView(
                    content_hash=v.content_hash.hex(), size=v.size, providers=len(v.providers)
                )
                for v in hit.variants
            ],
        )


class SearchAnswer(_Schema):
    """One page of the names that contain every word of the query, sorted by name."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "query": "random 20",
                    "words": ["20", "random"],
                    "total": 1,
                    "offset": 0,
                    "limit": 50,
                    "next_offset": None,
                    "truncated": False,
                    "names": [
                        {
                            "name": "random20.bin",
                            "variants": [
                                {"content_hash": "9f2c" * 16, "size": 1048576, "providers": 3}
                            ],
                        }
                    ],
                }
            ]
        }
    )

    query: str
    words: list[str] = Field(description="The query's words as indexed, rarest first.")
    total: int = Field(description="Names found in all.")
    offset: int
    limit: int
    next_offset: int | None = Field(description="Pass as `offset` for the next page; null: last.")
    truncated: bool = Field(
        description="A word had more entries than one search reads (10,000): names are missing."
    )
    names: list[SearchHitView]
