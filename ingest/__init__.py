"""The landing-zone contract: manifest, Batch/Item/Page models, validation and custody of batches."""
