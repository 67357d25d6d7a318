"""The product record (ARCHITECTURE.md section 5) as a validated pydantic model."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Availability = Literal["in_stock", "out_of_stock", "preorder", "unknown"]
# Where the record's price (else its name) came from.
Method = Literal["jsonld", "microdata", "opengraph", "embedded", "dom", "selectors", "template",
                 "llm"]

# Fields a stage fills from the page; the warehouse adds first_seen / last_seen / source.
RECORD_FIELDS = ("url", "name", "price", "currency", "availability", "sku", "gtin", "brand",
                 "category", "rating", "review_count", "image")


class ProductRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://")
    name: str = Field(min_length=1, max_length=1000)
    price: float | None = Field(None, ge=0)
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    availability: Availability = "unknown"
    sku: str | None = None
    gtin: str | None = Field(None, pattern=r"^\d{8,14}$")
    brand: str | None = None
    category: str | None = None
    rating: float | None = Field(None, ge=0)
    review_count: int | None = Field(None, ge=0)
    image: str | None = None
    method: Method

    def tracked(self) -> dict[str, object]:
        """The fields whose change makes a new version in the warehouse."""
        return self.model_dump(include=set(RECORD_FIELDS))
