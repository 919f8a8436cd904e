"""One page shape for every list of the API: ``{"items", "total", "limit", "offset"}``.

A route takes ``page: PageDep`` (the ``limit`` and ``offset`` query parameters) and returns
``Page[ItemOut]``, built with ``page.of(items, total)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict

__all__ = ["MAX_LIMIT", "MAX_OFFSET", "Page", "PageDep", "PageParams"]

T = TypeVar("T")

MAX_LIMIT = 1000
#: Far beyond any list the backend holds; keeps OFFSET within every database's integer.
MAX_OFFSET = 1_000_000_000


class Page(BaseModel, Generic[T]):
    """One page of a list: ``total`` counts every match, ``items`` holds at most ``limit``."""

    model_config = ConfigDict(frozen=True)

    items: list[T]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class PageParams:
    """Which page was asked for."""

    limit: int
    offset: int

    def of(self, items: Sequence[T], total: int) -> Page[T]:
        """Return ``items`` as this page of ``total`` matches."""
        return Page[T](items=list(items), total=total, limit=self.limit, offset=self.offset)


def _page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(_page_params)]
