// Package ocr owns optical character recognition of one page image: it
// detects and corrects orientation (Tesseract OSD) and small skew, runs
// Tesseract through gosseract, and returns the text with word boxes and
// confidences.
//
// An Engine wraps one Tesseract instance and must be used by one goroutine
// at a time; a worker keeps one per goroutine. Tesseract must run with
// OMP_THREAD_LIMIT=1 set before the process starts: see EnsureThreadLimit.
package ocr
