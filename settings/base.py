"""Shared pieces of the settings models: camelCase keys, strict fields, Kubernetes formats."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

CONFIG_NAMESPACE = "cachemesh"


class SettingsModel(BaseModel):
    """Base for every settings model: camelCase stack-config keys, unknown keys refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        # Inputs may hold secrets (the licence); never echo them in an error.
        hide_input_in_errors=True,
    )


_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
# Kubernetes resource.Quantity, from k8s.io/apimachinery/pkg/api/resource (non-negative only).
_QUANTITY = re.compile(
    r"^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)


def dns1123_label(value: str, max_length: int = 63) -> str:
    if len(value) > max_length or not _DNS1123_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a DNS-1123 label: use at most {max_length} lower-case letters, "
            "digits and '-', starting and ending with a letter or digit"
        )
    return value


def dns_subdomain(value: str) -> str:
    if len(value) > 253 or not _DNS1123_SUBDOMAIN.match(value):
        raise ValueError(
            f"{value!r} is not a DNS name: use lower-case labels of letters, digits and '-' "
            "separated by dots (for example cluster.local)"
        )
    return value


def quantity(value: str | int | float) -> str:
    text = str(value).strip()
    if not _QUANTITY.match(text):
        raise ValueError(
            f"{text!r} is not a Kubernetes quantity: write a number with an optional suffix, "
            "such as 1536Mi, 2Gi, 500m or 1"
        )
    return text


Dns1123Label = Annotated[str, AfterValidator(dns1123_label)]
DnsSubdomain = Annotated[str, AfterValidator(dns_subdomain)]
Quantity = Annotated[str, AfterValidator(quantity)]
