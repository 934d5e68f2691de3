package scangen

// Truth is the ground truth of a generated batch. Its JSON field names are
// stable.
type Truth struct {
	Format Format      `json:"format"`
	Seed   uint64      `json:"seed"`
	Pages  []PageTruth `json:"pages"`
}

// PageTruth describes one generated page.
//
// Geometry: the renderer draws the page upright; a skewed page is then
// turned counter-clockwise by Skew degrees (negative: clockwise), and a
// page fed sideways or upside down is then turned counter-clockwise by
// Rotation degrees. So to restore the page: turn the stored image
// clockwise by Rotation degrees (this makes it upright, as the ocr
// package's Result.Rotation means), then clockwise by Skew degrees.
//
// Sheet pages (Options.Sheets) have Sheet "cover" or "separator", Layout
// LayoutSheet, and are never blank; their geometry fields (Rotation, Skew,
// DPI, Bilevel, Width, Height) mean what they mean on any page. Their Text
// and Font are empty (the sheet's print is not recorded, so CER means
// nothing on them) and so are Title, DocumentPage and DocumentPages: a
// sheet is not a page of a document. Document is the number of the document
// the sheet introduces, which starts on the next content page of the file.
// On a cover sheet Patient, MRN and BirthDate are that document's patient
// (the printed MRN is exactly MRN, with authority "MRN"), and Type is the
// type the sheet prints, as its code of DocumentTypes (the barcodes carry
// its LOINC document code: CoverSheetType), or "" when the sheet prints no
// type (the document's own type is on its pages). On a separator sheet they
// are all empty.
type PageTruth struct {
	Number int    `json:"number"` // 1-based position in the file
	Text   string `json:"text"`   // the lines drawn, top to bottom, joined with "\n"; "" for a blank page
	// Rotation is 0, 90, 180 or 270: degrees clockwise that make the
	// stored image upright.
	Rotation int     `json:"rotation"`
	Skew     float64 `json:"skew_deg"` // counter-clockwise tilt of the text lines once upright, degrees
	Blank    bool    `json:"blank"`    // a blank sheet: paper and noise only
	DPI      int     `json:"dpi"`
	Bilevel  bool    `json:"bilevel"` // stored black and white (1 bit), else 8-bit grey
	Width    int     `json:"width"`   // of the stored image, pixels
	Height   int     `json:"height"`
	Font     string  `json:"font,omitempty"` // body text font, for example "Go Regular"
	Layout   string  `json:"layout"`         // one of the Layout constants
	// The document the page belongs to; zero values on blank pages (see
	// above for sheet pages).
	Title         string `json:"title,omitempty"`          // the document's title as printed on its first page, for example "PROGRESS NOTE"; "" when it has none
	Type          string `json:"type,omitempty"`           // document type code, one of DocumentTypes (the classify package's codes), for example "progress-note"
	Document      int    `json:"document,omitempty"`       // 1-based document number in the batch
	DocumentPage  int    `json:"document_page,omitempty"`  // 1-based page within the document ("Page 2 of 3")
	DocumentPages int    `json:"document_pages,omitempty"` // pages in the document
	Patient       string `json:"patient,omitempty"`        // fictional, "SURNAME, GIVEN"
	MRN           string `json:"mrn,omitempty"`            // the patient's medical record number (Patient.MRN; as printed it may vary or carry a typo)
	BirthDate     string `json:"birth_date,omitempty"`     // the patient's birth date, YYYY-MM-DD
	// How the document prints its patient's identifiers (the same on
	// every page of a document): PrintedMRN is the patient's own MRN as
	// printed under an MRN label ("" when the document prints none; it
	// may carry a typo or lack leading zeros). OtherMRN is another
	// facility's MRN the document prints, with its label OtherMRNLabel
	// ("Outside MRN:", or a bare "MRN:" that cannot be told from ours).
	// IDConflict says the document prints, under an MRN label, an
	// identifier that is not the patient's own MRN in the index: a typo
	// that changes it, or another facility's MRN labelled plainly "MRN".
	PrintedMRN    string `json:"printed_mrn,omitempty"`
	OtherMRN      string `json:"other_mrn,omitempty"`
	OtherMRNLabel string `json:"other_mrn_label,omitempty"`
	IDConflict    bool   `json:"id_conflict,omitempty"`
	// Sheet is SheetCover or SheetSeparator on a sheet page; "" on
	// ordinary and blank pages.
	Sheet string `json:"sheet,omitempty"`
}
