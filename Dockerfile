# The Airflow image the compose file runs: official Airflow plus tesseract, its Arabic and
# Chinese models, the PDF tools and the project itself.
FROM apache/airflow:3.3.2-python3.11

USER root
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      tesseract-ocr tesseract-ocr-ara tesseract-ocr-chi-sim tesseract-ocr-chi-tra \
      tesseract-ocr-chi-sim-vert tesseract-ocr-chi-tra-vert tesseract-ocr-eng tesseract-ocr-osd \
      ghostscript qpdf poppler-utils fonts-noto-cjk fonts-noto-core libraqm0 libfribidi0 \
 && rm -rf /var/lib/apt/lists/*

USER airflow
COPY --chown=airflow:root . /opt/cadl
# The same pinned versions as `make` installs (config/constraints-3.11.txt, the image's Python).
RUN pip install --no-cache-dir -c /opt/cadl/config/constraints-3.11.txt -e '/opt/cadl[distributed]'
