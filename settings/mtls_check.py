"""Settings of the post-deploy mTLS check: `cachemesh:mtlsCheck`."""

from __future__ import annotations

from pydantic import Field

from settings.base import SettingsModel


class MtlsCheckSettings(SettingsModel):
    enabled: bool = True
    timeout_seconds: int = Field(default=300, ge=10)
    enforce: bool = True
