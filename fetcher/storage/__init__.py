"""Storage: where files land under output_dir, locally or on S3, always atomically."""
