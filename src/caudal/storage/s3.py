"""Any S3-compatible endpoint (AWS S3, DigitalOcean Spaces, MinIO, SeaweedFS) through boto3.

URLs are ``s3://bucket/key``: readable by any worker holding the same settings, and never
public. Timeouts and retries are short so an unreachable store turns into a ``StoreUnreachable``
within seconds instead of hanging a Spark task; the caller decides whether to retry.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from caudal.storage.base import ObjectMissing, ObjectStore, ObjectTooLarge, StoreUnreachable

_MISSING = {"NoSuchKey", "404", "NotFound"}
_CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403"}


class S3ObjectStore(ObjectStore):
    """One bucket on one endpoint; ``endpoint_url`` None means AWS itself."""

    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None,
        region: str,
        access_key: str | None,
        secret_key: str | None,
        timeout_s: float = 5.0,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.endpoint_url = endpoint_url
        config = Config(
            connect_timeout=timeout_s,
            read_timeout=timeout_s,
            retries={"max_attempts": 2, "mode": "standard"},
            s3={"addressing_style": "path" if endpoint_url else "auto"},
        )
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=config,
        )

    def put(self, key: str, data: bytes, content_type: str) -> str:
        self._call(
            self.client.put_object, Bucket=self.bucket, Key=key, Body=data, ContentType=content_type
        )
        return f"s3://{self.bucket}/{key}"

    def get(self, url: str, max_bytes: int) -> bytes:
        parsed = urlparse(url)
        if parsed.scheme != "s3" or parsed.netloc != self.bucket:
            raise ObjectMissing(f"{url} is not an object of bucket {self.bucket}")
        key = parsed.path.lstrip("/")
        answer = self._call(self.client.get_object, Bucket=self.bucket, Key=key)
        body = answer["Body"]
        try:
            if int(answer.get("ContentLength", 0)) > max_bytes:
                raise ObjectTooLarge(f"object is over the {max_bytes:,}-byte limit")
            return bytes(body.read())
        except OSError as exc:
            raise StoreUnreachable(f"S3 read of {key} broke off: {exc}") from None
        finally:
            body.close()

    def check(self) -> None:
        if not self._bucket_exists():
            raise StoreUnreachable(
                f"bucket {self.bucket} does not exist at {self.endpoint_url or 'AWS S3'}",
                "create it, or fix CAUDAL_S3_BUCKET",
            )

    def create_bucket(self) -> None:
        """For embedded or test stores; production buckets are made by their owners."""
        if not self._bucket_exists():
            self._call(self.client.create_bucket, Bucket=self.bucket)

    def _bucket_exists(self) -> bool:
        try:
            self._call(self.client.head_bucket, Bucket=self.bucket)
        except ObjectMissing:  # HEAD has no body: a missing bucket is a bare 404
            return False
        return True

    def _call(self, method: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        where = self.endpoint_url or "AWS S3"
        try:
            return method(**kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                raise ObjectMissing(
                    f"object missing from the store: {kwargs.get('Key', self.bucket)}"
                ) from None
            if code == "NoSuchBucket":
                raise StoreUnreachable(
                    f"bucket {self.bucket} does not exist at {where}",
                    "create it, or fix CAUDAL_S3_BUCKET",
                ) from None
            if code in _CREDENTIALS:
                raise StoreUnreachable(
                    f"{where} refused the credentials ({code})",
                    "check CAUDAL_S3_ACCESS_KEY_ID / CAUDAL_S3_SECRET_ACCESS_KEY",
                ) from None
            raise StoreUnreachable(f"{where} answered {code}: {exc}") from None
        except BotoCoreError as exc:
            raise StoreUnreachable(
                f"object store {where} unreachable: {exc}", "start it or fix CAUDAL_S3_ENDPOINT_URL"
            ) from None
