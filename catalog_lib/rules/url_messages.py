"""Why a product URL is rejected: the reasons stored with a rejected row."""

from __future__ import annotations

from typing import Final

INVALID_FORMAT: Final = "Product URL must be a valid URL format"
SCHEME_TEMPLATE: Final = "Product URL scheme must be http: or https: (got {scheme})"
PRIVATE_HOST: Final = "Product URL hostname must not be a private/loopback/link-local address"
NON_ASCII_HOST: Final = "Product URL hostname contains non-ASCII characters (IDN homograph guard)"
