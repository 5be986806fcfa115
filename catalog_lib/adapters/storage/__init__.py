"""Object storage: local folders and S3-compatible buckets (S3, R2, MinIO) behind one protocol.

Callers get a store from `open_store(config)` and use the `ObjectStore` protocol; they never
look at the backend. `base` holds the protocol, value types and error translation; `local`
the local folder (and the landing jail); `s3` the S3-compatible backend; `factory` the choice.
"""

from catalog_lib.adapters.storage.base import ObjectStore, ObjectVersion, StorageConfig
from catalog_lib.adapters.storage.factory import (
    LandingStore,
    open_store,
    storage_config_from_settings,
)
from catalog_lib.adapters.storage.local import LocalStore
from catalog_lib.adapters.storage.s3 import S3Store

__all__ = [
    "LandingStore",
    "LocalStore",
    "ObjectStore",
    "ObjectVersion",
    "S3Store",
    "StorageConfig",
    "open_store",
    "storage_config_from_settings",
]
