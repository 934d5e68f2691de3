// Package scangen generates synthetic scanned batches of fictional medical
// records, with their ground truth, for tests, the demo, benchmarks and OCR
// accuracy measurement.
//
// It owns four separate stages, one file each:
//
//   - content (content.go, doctypes.go, patients.go, words.go, docwords.go):
//     what text goes on a page. Batches are made of documents of the
//     fourteen types of DocumentTypes (the classify package's codes:
//     discharge summaries, progress notes, lab and pathology reports,
//     consent forms, insurance cards, letters, fax covers, ...) of one to
//     four pages, for patients of Options.Patients or a few fictional ones,
//     several per batch. Each has a facility letterhead, a patient block
//     whose name, MRN and birth date formats vary per document (with
//     occasional typos), usually a title (some have none), sections typical
//     of its type, tables (lab values, medications), a signature, and on
//     some a "Page i of n" footer; continuation pages carry no title and
//     sometimes no running header. Layouts: single-column,
//     two-column-header, table, letter, form, card. Corpus and NoisyCorpus
//     (corpus.go) give the same documents as text without rendering, with
//     simulated OCR errors, for training and evaluating classifiers.
//   - rendering (render.go): lays the content out on a US Letter page with
//     0.75 in margins at the page's DPI, in the Go fonts (10 to 12 pt body),
//     black on white, into an *image.Gray, and records the lines it drew.
//   - scanning effects (effects.go): skew (bilinear), blur, paper tone and
//     contrast, gaussian noise, specks, bilevel thresholding, pages fed
//     sideways or upside down, blank sheets. Options.Clean turns them off.
//   - sheets (sheets.go): with Options.Sheets, cover sheets (the document's
//     patient and, on half of them, its type) or separator sheets before
//     documents, printed by an Options.SheetPrinter (sheetprint.Printer, in
//     package scangen/sheetprint, prints them with package sheets), scaled
//     to the batch's resolution and scanned like any page. They are added
//     to Options.Pages and recorded in PageTruth.Sheet.
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
//
// Population (population.go) makes a fictional patient index with the hard
// cases patient matching must get right (twins, namesakes, parent and
// child, names one letter off, MRNs one digit off); WritePatientsCSV writes
// it in the CSV that `paperchart patients import` reads.
package scangen
