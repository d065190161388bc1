"""Typed settings, read from CADL_* environment variables (see the README for the table).

Defaults keep everything in folders under `var/` of the checkout, so a fresh clone runs end to
end without any configuration.
"""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from kernel.errors import redact

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"


class Settings(BaseSettings):
    # hide_input_in_errors: a refused value may hold a password (a URL with user:secret@).
    model_config = SettingsConfigDict(env_prefix="CADL_", extra="ignore",
                                      hide_input_in_errors=True)

    def __repr_args__(self):
        # A URL setting may carry user:password (CADL_S3_ENDPOINT_URL=http://key:secret@host);
        # a logged or printed Settings shows it masked.
        for name, value in super().__repr_args__():
            yield name, redact(value) if isinstance(value, str) else value

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
        None, description="Endpoint of an S3-compatible server; unset means AWS. Credentials "
        "written into it (http://key:secret@host) are taken out before the URL is used, used "
        "as the S3 keys unless others are given, and never logged."
    )
    s3_region: str = Field("us-east-1", description="Region name sent to the S3 server.")
    s3_checksum: str = Field(
        "crc64nvme", pattern="^(crc64nvme|crc32c|crc32|md5|CRC64NVME|CRC32C|CRC32|MD5)$",
        description="Checksum sent with every S3 upload, which the server verifies and reports "
        "back: crc64nvme (default, AWS's own; needs the awscrt package), crc32c (awscrt), "
        "crc32, or md5 (Content-MD5 and the ETag) for servers that know no other.",
    )
    aws_conn_id: str | None = Field(
        None, description="Airflow connection holding S3 credentials, if not in the environment."
    )
    source_organization: str = Field(
        "Chinese–Arabic Digital Library", description="bag-info.txt Source-Organization."
    )
    ocr_workers: int = Field(
        0, description="Parallel OCR page threads per task (each runs one single-threaded "
        "tesseract, or calls the process's one PP-OCR instance); 0 means one per core.")
    unit_pages: int = Field(
        40, description="Pages per work unit: items are grouped into units of about this many "
        "pages, one mapped task per unit and stage, so a 1,000-page batch makes tens of tasks, "
        "not thousands. Smaller spreads a batch over more workers; larger costs less Airflow "
        "overhead.")
    tesseract_timeout: float = Field(600, description="Seconds one page may take in tesseract.")
    tessdata_dir: Path | None = Field(
        None, description="Folder of .traineddata models; unset uses tesseract's own."
    )
    thumbnail_px: int = Field(256, description="Longest side of page thumbnails, in pixels.")
    ocr_preprocess: str = Field(
        "rescale,binarize; zh-Hant=rescale,denoise,binarize",
        description="Steps for the OCR copy of each page (rescale, denoise, binarize), comma-"
        "separated; then optional `; LANGS=steps` overrides for items whose languages are "
        "exactly LANGS (e.g. `zh-Hant` or `ar+zh-Hans`). Masters never change. BENCHMARKS.md "
        "has what each step measured per language.",
    )
    ocr_engines: str = Field(
        "zh-Hans=ppocr; zh-Hant=ppocr; ar=tesseract; en=tesseract",
        description="The OCR engine per language, `TAG[/DIRECTION]=ENGINE` entries separated "
        "by `;` (engines: ppocr, tesseract); a `/ttb` entry is for vertical books only, e.g. "
        "`zh-Hant/ttb=tesseract`. Unlisted languages go to tesseract. Pages in languages of "
        "both engines are read line by line, each line by its script's engine.",
    )
    ocr_min_confidence: float = Field(
        60.0, description="A page whose mean word confidence (0-100) is under this is flagged."
    )
    ocr_max_low_confidence_share: float = Field(
        0.5, description="A page with a larger share of words under 50% confidence is flagged."
    )
    ocr_hold_for_review: bool = Field(
        True, description="Hold an item whose OCR flagged a page (status 'held': preserved, "
        "not published) instead of publishing it silently.",
    )
    # --- intake (issue 3): validation limits, quarantine, custody, landing-zone watch ---
    max_image_pixels: int = Field(
        400_000_000,
        description="Largest page accepted, in pixels (width × height); bigger images are "
        "refused as possible decompression bombs.",
    )
    min_dpi: float = Field(
        300, description="Lowest page resolution accepted without a problem, in pixels per inch."
    )
    low_dpi_severity: str = Field(
        "warning", pattern="^(warning|error)$",
        description="What a page under CADL_MIN_DPI, or without a resolution, is: "
        "'warning' (processed, reported) or 'error' (the item is quarantined).",
    )
    quarantine_dir: Path = Field(
        VAR / "quarantine",
        description="Where copies of invalid items (and of unreadable batches) are kept "
        "with their report.",
    )
    processed_dir: Path | None = Field(
        None, description="Where a released batch is moved once every item is preserved or "
        "quarantined; unset means `processed/` beside the landing zone.",
    )
    failed_dir: Path | None = Field(
        None, description="Where a batch that cannot be processed at all is moved once "
        "quarantined; unset means `failed/` beside the landing zone.",
    )
    retention_days: int | None = Field(
        None, description="Days released batches are kept in processed/ and failed/ before "
        "the watch deletes them; unset keeps them for ever.",
    )
    watch_auto_retries: int = Field(
        0, description="How many times the landing-zone watch retries a failed batch on its "
        "own; beyond that a person writes RETRY in the batch folder.",
    )
    # --- portals (issue 7): IIIF, change feeds, OAI-PMH, embargo lifting ---
    access_base_url: str | None = Field(
        None, description="Public base URL of the access location, to which the keys in IIIF "
        "manifests, feeds and OAI-PMH records are joined; unset uses the access location's "
        "own URI (CADL_ACCESS_URL).",
    )
    allow_file_urls: bool = Field(
        False, description="Development only: let publication write file:// (or s3://) links "
        "into IIIF manifests and change feeds when CADL_ACCESS_BASE_URL is not an http(s) URL. "
        "Such manifests are invalid IIIF and open in no viewer elsewhere; off, publication "
        "refuses them and names CADL_ACCESS_BASE_URL.",
    )
    display_px: int = Field(
        1600, description="Longest side of the per-page display images (JPEG), in pixels."
    )
    rights_overrides: Path = Field(
        ROOT / "config" / "rights-overrides.json",
        description="JSON file of rights decisions taken after ingest, per item "
        "(see docs/portal-contract.md); a missing file means none.",
    )
    oai_repository_id: str = Field(
        "cadl.example.org", description="Namespace of OAI-PMH identifiers: oai:<this>:<item_id> "
        "(a placeholder: `cadl serve` refuses it in a real deployment)."
    )
    oai_page_size: int = Field(
        100, ge=1, description="Records or identifiers per OAI-PMH response before a "
        "resumptionToken.",
    )
    oai_admin_email: str | None = Field(
        None, description="adminEmail of the OAI-PMH Identify response; unset uses "
        "CADL_CONTACT_EMAIL.")
    # --- who the published packages name (issue 17): contact, partners, the operator ---
    contact_email: str = Field(
        "digital-library@cadl.invalid",
        description="The preservation team's e-mail address: the BagIt profile's Contact-Email "
        "and OAI-PMH's adminEmail. The default (.invalid) is a development placeholder, refused "
        "when publishing from a real deployment (kernel.deployment).")
    partners_file: Path = Field(
        ROOT / "config" / "partners.json",
        description="The partner libraries: names in three languages, METS role, portal "
        "language, and the URLs of their portals (homepage, logo, item_page with {item_id}). "
        "The shipped file's URLs are development placeholders (.invalid); a real deployment "
        "points this at its own file.")
    operator: str | None = Field(
        None, description="The person who runs the pipeline (technician or operator), recorded "
        "as a PREMIS agent of type person in deposit events; a manifest row's `operator` "
        "column names the person for that item instead.")
    # --- `cadl serve` (issue 12): public URL and limits of the HTTP server ---
    public_base_url: str | None = Field(
        None, pattern=r"^https?://[^/@?#\s]+(/[^?#\s]*)?$",
        description="Public URL at which `cadl serve` is reached (behind the reverse proxy), "
        "e.g. https://library.example.org; OAI-PMH answers carry <it>/oai as baseURL and "
        "request. Unset is allowed only when serving on a loopback address, where the bind "
        "address is used. No credentials, query or fragment.",
    )
    serve_threads: int = Field(
        4, ge=1, le=64, description="Worker threads of `cadl serve`: requests answered at once "
        "(slow or idle clients hold no thread).",
    )
    serve_connections: int = Field(
        100, ge=1, le=10000, description="Open connections `cadl serve` accepts at once; more "
        "wait in the kernel's backlog.",
    )
    serve_idle_timeout: float = Field(
        30, ge=1, le=3600, description="Seconds a `cadl serve` connection may stay silent "
        "(an idle keep-alive, or a client stalling mid-request) before it is closed.",
    )
    # --- preservation storage (issue 6): replica, object lock, verification, fixity audits ---
    replica_url: str | None = Field(
        None, description="Optional second preservation location (file:///folder or "
        "s3://bucket/prefix): deposit writes both, audits compare and repair them.",
    )
    replica_endpoint_url: str | None = Field(
        None, description="Endpoint of the replica's S3 server, if not CADL_S3_ENDPOINT_URL.",
    )
    replica_aws_conn_id: str | None = Field(
        None, description="Airflow connection with the replica's S3 credentials, if they differ.",
    )
    object_lock_mode: str | None = Field(
        None, pattern="^(|GOVERNANCE|COMPLIANCE|governance|compliance)$",
        description="S3 object lock mode for preservation objects; unset or empty writes no "
        "retention (servers without object lock). The bucket must have object lock enabled.",
    )
    object_lock_days: int = Field(
        3650, ge=1, description="Retention period of each preservation object, in days.",
    )
    deposit_verify: str = Field(
        "checksum", pattern="^(checksum|reread)$",
        description="How deposit verifies uploads: 'checksum' trusts the checksum (see "
        "CADL_S3_CHECKSUM) the S3 server reports for the bytes hashed in the same pass "
        "(folders are always re-read); 'reread' "
        "downloads every object again.",
    )
    audit_cycle_days: int = Field(
        30, ge=1, description="audit_fixity re-reads the whole archive once every this many "
        "days, one deterministic slice of the items per daily run.",
    )
    # --- review of held items (issue 16) ---
    review_deadline_hours: float = Field(
        72, gt=0, description="Hours a held item may wait for an archivist's decision; past "
        "that an alert is raised (never an automatic publication).",
    )
    reports_base_url: str | None = Field(
        None, description="Base URL under which the batch reports are served, e.g. "
        "http://127.0.0.1:8080/cadl/reports/ (the Airflow plugin); links in review tasks and "
        "the collection view use it. Unset gives file:// links.",
    )
    # --- catalogue records (issue 18): the partners' SRU services ---
    catalogue_sru_url_zh: str | None = Field(
        None, description="SRU base URL of the National Library of China's catalogue; a "
        "manifest `record` not in the batch's records.xml/records.mrc is looked up there.",
    )
    catalogue_sru_url_ar: str | None = Field(
        None, description="SRU base URL of the Arabic partner's catalogue (as for _ZH).",
    )
    catalogue_sru_index: str = Field(
        "rec.id", description="CQL index searchRetrieve queries with the control number "
        "(rec.id: the record identifier, as Koha and Zebra name it).",
    )
    catalogue_timeout: float = Field(
        20, gt=0, description="Seconds an SRU request may take before the record is reported "
        "as not reachable.",
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
