// Package scangen generates synthetic scanned batches of fictional medical
// records, with their ground truth, for tests, the demo, benchmarks and OCR
// accuracy measurement.
//
// It owns four separate stages, one file each:
//
//   - content (content.go, doctypes.go, layouts.go, forms.go, patients.go,
//     words.go, docwords.go, bodies.go): what text goes on a page. Batches
//     are made of documents of the fourteen types of DocumentTypes (the
//     classify package's codes: discharge summaries, progress notes, lab
//     and pathology reports, consent forms, insurance cards, letters, fax
//     covers, ...), for patients of Options.Patients or a few fictional
//     ones, several per batch, many of them one page long. Each document
//     draws its own look: a letterhead of six kinds (centred, left,
//     right-aligned, a physician's practice, two columns) or none; a
//     patient block in one of five arrangements with any of the label
//     variants (Patient:, Name:, Pt Name:, PATIENT NAME:, ...; MRN, MR#,
//     Med Rec No, Chart #, ...; DOB, D.O.B., Birth Date, Date of Birth,
//     ...), an account number, and demographics as printed on paper:
//     typos, nicknames, initials, birth dates with day and month swapped,
//     missing fields, and on some documents another facility's MRN
//     ("Outside MRN:", or a bare "MRN:" in place of ours; PageTruth says
//     which MRN is printed, which is the other one, and flags the
//     conflict); a title or none; sections typical of its type (SOAP notes
//     with SUBJECTIVE/OBJECTIVE/ASSESSMENT/PLAN or S:/O:/A:/P:, consults
//     laid out like H&Ps, untitled discharge summaries, surgeons' letters
//     about an operation, multi-column forms with check boxes), headings on
//     their own line or run into the text; tables (lab values,
//     medications); a signature or none; a footer ("Page i of n", "Page
//     i", "i/n", a "Printed ..." line) or none; and on continuation pages
//     one of five running headers (one repeats the title) or none; some
//     documents print their signature at the foot of every page. In half
//     of the prose documents the text runs over page breaks, cut
//     mid-paragraph (paginate in render.go lays the flow out as the
//     renderer will). One document run
//     in seven is a fax transmission: one to three documents, sometimes
//     behind a fax cover sheet that announces the page count, with the fax
//     machine's header ("... FROM: ... TO: ... P.002/005") on top of every
//     page, counting the transmission's pages. With Options.Bodies
//     (LoadBodies reads DIR/<type>/*.txt) every document's body is a real
//     text laid out the same way, under our headers and with the same
//     Truth. Corpus and NoisyCorpus (corpus.go) give the same documents as
//     text without rendering, with simulated OCR errors, for training and
//     evaluating classifiers.
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
