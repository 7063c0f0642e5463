"""Answers of the operations routes beyond the ring's (:mod:`chordshare.api.schemas.ring`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RescanAnswer(BaseModel):
    """``POST /api/v1/rescan``: what the rescan of ``shared_dir`` changed in the network."""

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        json_schema_extra={
            "examples": [{"published": ["holiday.jpg"], "withdrawn": ["old.txt"], "sharing": 12}]
        },
    )

    published: list[str] = Field(description="Names new or changed on disk, now published.")
    withdrawn: list[str] = Field(description="Names gone from disk, withdrawn.")
    sharing: int = Field(ge=0, description="Files in shared_dir after the rescan.")
