// Package storage owns what paperchart keeps: the state of every batch and
// page in PostgreSQL (the state of the work, and an index of the bucket:
// each batch's rows are also kept in the bucket as its manifest, manifest.go, from
// which Rebuild recreates them), and the bytes — originals, page
// images, OCR results, searchable PDFs — in S3-compatible object storage.
//
// DB wraps a pgx connection pool and the schema migrations embedded in this
// package; Objects wraps a minio-go client and one bucket. Neither logs or
// returns patient data in errors: callers get IDs and keys.
package storage
