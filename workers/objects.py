"""The blob store every process builds from its settings: local files by default, S3 when configured."""

from urllib.parse import urlsplit

from activities.blob_seal import BlobSealer
from activities.blobs import BlobStore, Objects
from activities.local_objects import LocalObjects
from activities.s3_objects import S3Location, S3Objects
from workers.codec import payload_keys
from workers.settings import Settings


def objects_from_settings(settings: Settings) -> Objects:
    cfg = settings.objects
    if cfg.url is None:
        return LocalObjects(settings.blob_dir)
    url = urlsplit(cfg.url)
    location = S3Location(
        bucket=url.netloc,
        prefix=url.path.strip("/"),
        endpoint_url=cfg.endpoint,
        region=cfg.region,
        access_key_id=cfg.access_key.get_secret_value() if cfg.access_key else None,
        secret_access_key=cfg.secret_key.get_secret_value() if cfg.secret_key else None,
        path_style=cfg.path_style,
    )
    # Roll-up zips and uploads are staged here before they go to the bucket: a pod's own disk.
    return S3Objects(location, cfg.scratch_dir or settings.data_dir / "scratch")


def blob_store(settings: Settings) -> BlobStore:
    """Sealed with the payload keys (the first seals, all open), on the configured backend."""
    keys = payload_keys(settings)
    sealer = BlobSealer({k.key_id: k.secret for k in keys}, keys[0].key_id)
    return BlobStore(objects_from_settings(settings), sealer)
