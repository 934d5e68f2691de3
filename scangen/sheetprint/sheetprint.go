// Package sheetprint prints the cover and separator sheets of generated
// batches (scangen.Options.Sheets) with package sheets, exactly as
// `paperchart coversheet` prints them, so that a generated sheet page is
// what a scanner sees of a real one.
//
// It is a package of its own because scangen cannot import sheets: the
// sheets tests generate pages with scangen.
//
//	opt.Sheets, opt.SheetPrinter = scangen.SheetsCover, sheetprint.Printer{}
package sheetprint

import (
	"fmt"
	"image"

	"paperchart/scangen"
	"paperchart/sheets"
)

// Printer is a scangen.SheetPrinter that draws sheets with package sheets:
// 300-dpi black-and-white US Letter pages. It is safe for concurrent use.
type Printer struct {
	// Separator is the separator sheets' barcode value; "" means
	// sheets.DefaultSeparator.
	Separator string
}

var _ scangen.SheetPrinter = Printer{}

// CoverSheet returns the page sheets.CoverSheetImage prints for c (no
// facility, no printing date: the same c gives the same pixels).
func (p Printer) CoverSheet(c scangen.CoverSheet) (*image.Gray, error) {
	img, err := sheets.CoverSheetImage(sheets.CoverSheet{
		Authority:   c.Authority,
		MRN:         c.MRN,
		Type:        c.Type,
		TypeLabel:   c.TypeLabel,
		PatientName: c.PatientName,
		BirthDate:   c.BirthDate,
	})
	if err != nil {
		return nil, fmt.Errorf("sheetprint: cover sheet: %w", err)
	}
	return img, nil
}

// SeparatorSheet returns the page sheets.SeparatorSheetImage prints for
// p.Separator.
func (p Printer) SeparatorSheet() (*image.Gray, error) {
	img, err := sheets.SeparatorSheetImage(p.Separator)
	if err != nil {
		return nil, fmt.Errorf("sheetprint: separator sheet: %w", err)
	}
	return img, nil
}
