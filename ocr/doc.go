// Package ocr owns optical character recognition of one page image: it
// detects and corrects orientation (Tesseract OSD) and small skew, runs
// Tesseract through its C API, and returns the text with word boxes and
// confidences.
//
// An Engine wraps one Tesseract instance and must be used by one goroutine
// at a time; a worker keeps one per goroutine, or borrows one from a Pool.
// Tesseract must run with OMP_THREAD_LIMIT=1 set before the process starts:
// call EnsureThreadLimit first thing in main (and in TestMain).
//
// # Cost per page
//
// The aim is that a page costs one plain Tesseract recognition and little
// else (the pipeline must keep >= 90% of the throughput of the tesseract
// command line). Per page, beyond that recognition:
//
//   - analysis on a copy reduced to ~75 dpi (one pass over the pixels):
//     blank measure, skew search, line-direction check: ~40 ms at 300 dpi;
//   - a blank page stops there: no Tesseract call;
//   - a bilinear deskew rotation (~60 ms) only when |skew| > 0.3 degrees;
//   - the hand-off to Tesseract: the grey pixels as they are
//     (TessBaseAPISetImage copies them once; no encoding, no decoding);
//   - one recognition, read with one result iterator (words, boxes,
//     confidences, block, paragraph and line numbers); the page text is
//     built from the words. Every string and the iterator are freed, and
//     Tesseract's page data is cleared once the words are read (tess.go):
//     gosseract leaked them (its issue #124), and kept each page's data
//     until the next page.
//
// # Orientation
//
// Orientation detection (OSD) costs about 0.4 s, so it does not run on
// every page. It runs before recognition when the projection profiles
// show text lines running down the page (turned 90 or 270 degrees), and
// after recognition when the result looks wrong: fewer than
// Options.MinWords words, mean confidence below Options.ConfidenceForOSD,
// or most words taller than wide. The page is then turned by the detected
// angle and recognised again, and the better reading (more confidently
// recognised characters) is kept. A page upside down therefore costs two
// recognitions and one OSD. gosseract v2.4.1 has no orientation call, so
// OSD uses Tesseract's C API directly (osd.go).
package ocr
