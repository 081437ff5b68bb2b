"""The base of every config model: unknown keys refused, frozen, defaults validated."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ConfigModel(BaseModel):
    """A config section (pydantic): ``extra="forbid"`` (a typo is an error naming the key),
    frozen, defaults validated like given values."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
