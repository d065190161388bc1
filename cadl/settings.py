"""Typed settings, read from CADL_* environment variables (see the README for the table).

Defaults keep everything in folders under `var/` of the checkout, so a fresh clone runs end to
end without any configuration.
"""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CADL_", extra="ignore")

    landing_dir: Path = Field(VAR / "landing", description="Where technicians drop batches.")
    work_dir: Path = Field(
        VAR / "work", description="Scratch space for OCR outputs and bags before deposit."
    )
    reports_dir: Path = Field(VAR / "reports", description="Where per-batch reports are written.")
    preservation_url: str = Field(
        (VAR / "preservation").as_uri(),
        description="Preservation storage: file:///folder or s3://bucket/prefix.",
    )
    access_url: str = Field(
        (VAR / "access").as_uri(),
        description="Access storage the portals read: file:///folder or s3://bucket/prefix.",
    )
    s3_endpoint_url: str | None = Field(
        None, description="Endpoint of an S3-compatible server; unset means AWS."
    )
    s3_region: str = Field("us-east-1", description="Region name sent to the S3 server.")
    aws_conn_id: str | None = Field(
        None, description="Airflow connection holding S3 credentials, if not in the environment."
    )
    source_organization: str = Field(
        "Chinese–Arabic Digital Library", description="bag-info.txt Source-Organization."
    )
    ocr_workers: int = Field(0, description="Parallel tesseract processes; 0 means one per core.")
    tesseract_timeout: float = Field(600, description="Seconds one page may take in tesseract.")
    tessdata_dir: Path | None = Field(
        None, description="Folder of .traineddata models; unset uses tesseract's own."
    )
    thumbnail_px: int = Field(256, description="Longest side of page thumbnails, in pixels.")


@lru_cache
def get_settings() -> Settings:
    return Settings()
