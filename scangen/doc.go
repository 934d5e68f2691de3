// Package scangen generates synthetic scanned batches of fictional medical
// records, with their ground truth, for tests, the demo, benchmarks and OCR
// accuracy measurement.
//
// It owns four separate stages, one file each:
//
//   - content (content.go, words.go): what text goes on a page. Batches are
//     made of documents (progress notes, discharge summaries, lab reports,
//     letters, ...) of one to five pages for one fictional patient, each
//     with a facility header, a patient block, a title, sections of
//     clinical prose built from phrase lists, sometimes a table of lab
//     values, and a "Page i of n" footer. Layouts: single-column,
//     two-column-header, table, letter.
//   - rendering (render.go): lays the content out on a US Letter page with
//     0.75 in margins at the page's DPI, in the Go fonts (10 to 12 pt body),
//     black on white, into an *image.Gray, and records the lines it drew.
//   - scanning effects (effects.go): skew (bilinear), blur, paper tone and
//     contrast, gaussian noise, specks, bilevel thresholding, pages fed
//     sideways or upside down, blank sheets. Options.Clean turns them off.
//   - writing (pdf.go, tiff.go, image.go, g4.go): PDF 1.4 with one image per
//     page (JPEG grey, CCITT G4 or Flate bilevel), multi-page TIFF (Deflate
//     or raw grey, G4 or Deflate bilevel), single-page JPEG and PNG. The
//     CCITT Group 4 encoder is in g4.go.
//
// Everything is decided by Options.Seed: the same seed and options give the
// same bytes and the same Truth, whatever the number of workers. Names,
// facilities, numbers and telephone numbers are all made up.
//
// CER computes the character error rate of OCR output against
// PageTruth.Text.
package scangen
