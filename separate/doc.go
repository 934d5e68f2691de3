// Package separate cuts a scanned batch into documents: it decides where
// each document starts, which pages belong to it, how sure that is, and
// why. It owns only the cutting. Reading barcodes is the sheets package's
// job, identifiers the extract package's, document types the classify
// package's, and which patient a document belongs to the match package's.
//
// # Rules
//
// In this order of trust:
//
//  1. Cover sheets. Every page after a cover sheet, up to the next sheet or
//     the end of the batch, is one document of the sheet's patient
//     (Document.Cover); the sheet is not a page of it.
//  2. Separator sheets. A new document starts after one; the sheet is
//     dropped.
//  3. Content, for pages no sheet delimits: each page is scored as the
//     possible start of a new document (below) and starts one when the
//     probability is at least one half.
//
// Sheets are authoritative, as in Kofax and Paperless-ngx: when a batch has
// sheets, the content model's odds that a page between two sheets starts
// another document are weighed against a prior of 1 in 200 that the
// operator forgot a sheet there, instead of the content model's own prior.
// Only overwhelming evidence (a full first page of another document) cuts
// there, with the reason "no sheet before it"; weaker evidence only lowers
// the document's confidence, enough to send it to review when strong, and
// ordinary documents keep a confidence near 1.
//
// The pages before the first sheet of a batch form a document of their own
// (By "first"). If that first sheet is a separator, this is the usual
// convention (Paperless-ngx: separators go between documents, the first
// needs none) and the pages are one document like any sheet-delimited one.
// If it is a cover sheet, every document of the batch was meant to have a
// cover, so the leading pages are a mistake of unknown extent: content rules
// cut them (the first By "first", the others By "content") and every
// document found there is flagged for review whatever its confidence, with
// the reason "no cover sheet before it".
//
// Blank pages and sheets are never pages of a document. A sheet followed by
// no content page yields no document.
//
// # Content
//
// Each page is read on its own (signals.go). A fax machine's transmission
// header on its first two lines ("... FROM: ... TO: ... P.002/005",
// "PAGE 2/5 FAX") is read for its sender and page counter and then set
// aside, so that a header repeated on every page of a transmission is
// neither a letterhead nor a running header. Then: a document title in its
// top lines (the classify package's title rules), "Page k of N" or "Page k"
// (read through OCR damage: "Pagc l 0f 2"), a "(continued)" running header,
// a letterhead (facility words or a telephone number on top), the patient
// identifiers extract.Page finds (MRN, name, birth date) and where, dates of
// service, a signature or letter closing at its end, whether its text stops
// in the middle of a sentence or starts with a lower-case word (text running
// over a page break, with no "Page N of M" or "continued"), its document
// type (classify.Model.Predict), and whether its text is words at all (a
// page OCR read upside down gives junk).
//
// A page is then compared with the page before it and with the pages of the
// document it would continue (features.go): title on top, "Page 1", the
// previous page said "Page N of N" or "Page k of N" with k < N, page
// numbers in sequence, identifiers the same or different from every page of
// that document (a missing identifier is not a change; MRNs are the same as
// match.CompareMRN says: exact, one OCR-confusable substitution O/0, I/l/1,
// S/5, B/8, Z/2, or leading zeros; any other difference, even one digit, is
// another patient's MRN, a feature of its own when within two edits, which
// misread digits also give; dates are the same one digit or a day apart, names
// within one edit per four letters), a patient block or a bare running
// header on top, a signature at the end of the previous page, text running
// over from the previous page, a fax transmission that starts (its page 1,
// or another sender) or goes on, a blank page between, the type
// probabilities of the two pages (the chance they are the same type, and a
// change when both are at least 0.8 sure), and junk text (also after "Page k
// of N" with k < N).
//
// A logistic model turns these features into the probability that the page
// starts a document. Its weights (weights.go) are fitted by L2-regularised
// logistic regression on 48 generated batches of 50 pages (scangen seeds 1
// to 48, 5% blank pages), each as clean text and with simulated OCR errors
// at 1, 2 and 3.5% character error rate plus pages of OCR junk; regenerate
// them after changing the features or the generator with
//
//	go test ./separate -run TestTrain -retrain -v
//
// Generated batches place blank pages at random, so the fit gives "blank
// page before" no weight; in them a change of patient always comes with a
// new first page, so a fit cannot learn that a different patient alone
// means a different document. That is stated instead, as floors on the
// probability: 0.995 when a patient-label barcode names another MRN than the
// document's labels, 0.97 when the printed MRN differs from every MRN of the
// document by more than two edits (O, I, l, S, B, Z read as digits) while
// neither name nor birth date agrees, 0.95 when both name and birth date
// differ and the MRN does not agree, or when the MRN differs (one digit is
// enough) and the name or the birth date differs while neither agrees.
//
// # Confidence and review
//
// A document is right when its first page starts a document, none of its
// other pages does, and the page after it starts the next one. Taking the
// pages' probabilities as independent, Document.Confidence is the product of
// the probability of its start (1 at a sheet or the start of the batch), of
// one minus that of each of its other pages, and of the probability of the
// next document's start (1 at a sheet or the end of the batch). Under the
// separator's threshold (DefaultThreshold, 0.9, unless Config.Threshold
// says otherwise) Document.Review is set: a person must check the split.
// Reasons say in plain words what started the document and what casts doubt
// on it ("title on top of page 3", "Page 1 of 2 on page 5", "patient
// identifiers change on page 7", "page 9 may start another document"); they
// never hold patient data, and neither do errors.
package separate
