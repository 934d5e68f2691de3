package sheets

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// CoverSheet is what a printed cover sheet shows. MRN is required; every
// other field may be empty. Authority, MRN and Type go into the barcodes;
// the rest is printed for a person to check before scanning.
type CoverSheet struct {
	Authority   string // MRN's assigning authority; empty for the default one
	MRN         string
	Type        string // document type code, e.g. a LOINC document code
	TypeLabel   string // the type's name as people read it
	PatientName string // as printed, e.g. "FAMILY, Given"
	BirthDate   string // as printed, e.g. "1958-03-14"
	Facility    string
	Created     time.Time // printed on the sheet when not zero
}

// Page geometry: US Letter at 300 dpi.
const (
	dpi        = 300
	pageW      = 8.5 * dpi
	pageH      = 11 * dpi
	margin     = dpi / 2 // the barcodes' quiet zones lie inside it
	contentW   = pageW - 2*margin
	qrSide     = 2.2 * dpi // target size of the QR code without quiet zone
	barHeight  = dpi       // Code 128 height: 1 inch, to survive skew
	minModule  = 3         // narrowest Code 128 module printed, in dots
	maxModule  = 6
	pdfPointsW = 612
	pdfPointsH = 792
)

type fonts struct{ regular, bold *opentype.Font }

// parsedFonts parses the Go fonts once; the fonts are read-only afterwards.
var parsedFonts = sync.OnceValues(func() (fonts, error) {
	r, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return fonts{}, fmt.Errorf("sheets: parse font: %w", err)
	}
	b, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return fonts{}, fmt.Errorf("sheets: parse font: %w", err)
	}
	return fonts{r, b}, nil
})

// CoverSheetPDF writes a one-page US Letter PDF cover sheet for c to w: a
// title, the patient's name, MRN, birth date and document type in large
// print, the payload as a QR code (error correction Q) and as a Code 128,
// and the instruction to put the sheet on top of the document. The page is
// a 300-dpi black-and-white image, so the PDF stays small (tens of KB).
// Errors never contain the sheet's fields.
func CoverSheetPDF(ctx context.Context, w io.Writer, c CoverSheet) error {
	l, err := coverLayout(c)
	if err != nil {
		return err
	}
	return writeSheet(ctx, w, l)
}

// CoverSheetImage returns the cover sheet page that CoverSheetPDF prints,
// as a black-and-white 300-dpi US Letter image (2550×3300): for generators
// of synthetic scans.
func CoverSheetImage(c CoverSheet) (*image.Gray, error) {
	l, err := coverLayout(c)
	if err != nil {
		return nil, err
	}
	return renderSheet(l)
}

func coverLayout(c CoverSheet) (sheetLayout, error) {
	payload, err := CoverPayload(c.Authority, c.MRN, c.Type)
	if err != nil {
		return sheetLayout{}, err
	}
	mrn := c.MRN
	if c.Authority != "" {
		mrn += "  (" + c.Authority + ")"
	}
	doc := "decided from the content"
	switch {
	case c.TypeLabel != "" && c.Type != "":
		doc = c.TypeLabel + " (" + c.Type + ")"
	case c.TypeLabel != "":
		doc = c.TypeLabel
	case c.Type != "":
		doc = c.Type
	}
	footer := ""
	if !c.Created.IsZero() {
		footer = "Printed " + c.Created.Format("2006-01-02 15:04") + " by paperchart"
	}
	return sheetLayout{
		title: "PAPERCHART COVER SHEET",
		fields: [][2]string{
			{"Patient", orNotGiven(c.PatientName)},
			{"MRN", mrn},
			{"Birth date", orNotGiven(c.BirthDate)},
			{"Document", doc},
			{"Facility", orNotGiven(c.Facility)},
		},
		payload:     payload,
		instruction: "Place this sheet on top of the document; it is not stored as a page.",
		footer:      footer,
	}, nil
}

// SeparatorSheetPDF writes a one-page US Letter PDF separator sheet whose
// QR code and Code 128 carry value ("" means DefaultSeparator).
func SeparatorSheetPDF(ctx context.Context, w io.Writer, value string) error {
	l, err := separatorLayout(value)
	if err != nil {
		return err
	}
	return writeSheet(ctx, w, l)
}

// SeparatorSheetImage returns the page that SeparatorSheetPDF prints, as a
// black-and-white 300-dpi US Letter image.
func SeparatorSheetImage(value string) (*image.Gray, error) {
	l, err := separatorLayout(value)
	if err != nil {
		return nil, err
	}
	return renderSheet(l)
}

func separatorLayout(value string) (sheetLayout, error) {
	if value == "" {
		value = DefaultSeparator
	}
	if err := checkSeparator(value); err != nil {
		return sheetLayout{}, err
	}
	return sheetLayout{
		title: "PAPERCHART SEPARATOR SHEET",
		fields: [][2]string{
			{"", "A new document starts after this sheet"},
			{"Value", value},
		},
		payload:     value,
		instruction: "Place this sheet between documents; it is not stored as a page.",
	}, nil
}

// checkSeparator accepts printable ASCII that Code 128 can carry and that
// cannot be taken for a cover payload.
func checkSeparator(v string) error {
	if len(v) > MaxPayload {
		return fmt.Errorf("sheets: separator value longer than %d characters", MaxPayload)
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] > '~' {
			return errors.New("sheets: separator value must be printable ASCII without spaces")
		}
	}
	if strings.HasPrefix(v, "PCCS") {
		return errors.New("sheets: separator value must not start with PCCS, the cover sheet prefix")
	}
	return nil
}

func orNotGiven(s string) string {
	if s == "" {
		return "(not given)"
	}
	return s
}

type sheetLayout struct {
	title       string
	fields      [][2]string // label, value; an empty label centres the value
	payload     string
	instruction string
	footer      string
}

func writeSheet(ctx context.Context, w io.Writer, l sheetLayout) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	img, err := renderSheet(l)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return writeBilevelPDF(w, img)
}

// renderSheet draws the sheet on a white 300-dpi page and thresholds it to
// pure black and white.
func renderSheet(l sheetLayout) (*image.Gray, error) {
	fs, err := parsedFonts()
	if err != nil {
		return nil, err
	}
	img := image.NewGray(image.Rect(0, 0, pageW, pageH))
	for i := range img.Pix {
		img.Pix[i] = 0xFF
	}
	y := margin + 0.25*dpi
	if err := drawText(img, fs.bold, 40, l.title, y, center); err != nil {
		return nil, err
	}
	y += 0.3 * dpi
	fillRect(img, image.Rect(margin, int(y), pageW-margin, int(y)+8))
	y += 0.65 * dpi
	for _, f := range l.fields {
		if f[0] == "" {
			if err := drawText(img, fs.bold, 28, f[1], y, center); err != nil {
				return nil, err
			}
		} else {
			if err := drawText(img, fs.regular, 20, f[0], y, left); err != nil {
				return nil, err
			}
			if err := drawText(img, fs.bold, 28, f[1], y, valueColumn); err != nil {
				return nil, err
			}
		}
		y += 0.5 * dpi
	}

	// The QR code in the middle and the Code 128 under it, both centred and
	// well inside the page, so that feeding the sheet sideways or upside
	// down, or a scanner cropping its edges, leaves them whole.
	qr, err := qrMatrix(l.payload)
	if err != nil {
		return nil, err
	}
	mod := max(8, int(qrSide)/qr.GetWidth())
	side := mod * qr.GetWidth()
	top := int(y) + int(0.1*dpi)
	drawMatrix(img, qr, (pageW-side)/2, top, mod, mod)
	y = float64(top + side + int(0.45*dpi))

	bar, err := code128Matrix(l.payload)
	if err != nil {
		return nil, err
	}
	mod = min(maxModule, contentW/bar.GetWidth())
	if mod < minModule {
		return nil, ErrPayloadTooLong
	}
	barW := mod * bar.GetWidth()
	drawMatrix(img, bar, (pageW-barW)/2, int(y), mod, barHeight)
	y += barHeight + 0.6*dpi

	if err := drawText(img, fs.bold, 17, l.instruction, y, center); err != nil {
		return nil, err
	}
	if l.footer != "" {
		if err := drawText(img, fs.regular, 12, l.footer, pageH-margin-0.1*dpi, center); err != nil {
			return nil, err
		}
	}
	for i, v := range img.Pix {
		if v < 0x80 {
			img.Pix[i] = 0
		} else {
			img.Pix[i] = 0xFF
		}
	}
	return img, nil
}

// qrMatrix returns the QR code of s, one bit per module, no quiet zone.
func qrMatrix(s string) (*gozxing.BitMatrix, error) {
	hints := map[gozxing.EncodeHintType]any{
		gozxing.EncodeHintType_ERROR_CORRECTION: decoder.ErrorCorrectionLevel_Q,
		gozxing.EncodeHintType_MARGIN:           0,
	}
	m, err := qrcode.NewQRCodeWriter().Encode(s, gozxing.BarcodeFormat_QR_CODE, 0, 0, hints)
	if err != nil {
		return nil, fmt.Errorf("sheets: encode QR code: %w", err)
	}
	return m, nil
}

// code128Matrix returns the Code 128 of s, one column per module, one row.
func code128Matrix(s string) (*gozxing.BitMatrix, error) {
	hints := map[gozxing.EncodeHintType]any{gozxing.EncodeHintType_MARGIN: 0}
	m, err := oned.NewCode128Writer().Encode(s, gozxing.BarcodeFormat_CODE_128, 0, 1, hints)
	if err != nil {
		return nil, fmt.Errorf("sheets: encode Code 128: %w", err)
	}
	return m, nil
}

// drawMatrix paints m's set bits black, each as an sx×sy block, with the
// matrix's top left at (x, y). A one-row matrix (a 1D code) uses row 0.
func drawMatrix(img *image.Gray, m *gozxing.BitMatrix, x, y, sx, sy int) {
	for my := 0; my < m.GetHeight(); my++ {
		for mx := 0; mx < m.GetWidth(); mx++ {
			if m.Get(mx, my) {
				fillRect(img, image.Rect(x+mx*sx, y+my*sy, x+(mx+1)*sx, y+(my+1)*sy))
			}
		}
	}
}

func fillRect(img *image.Gray, r image.Rectangle) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Pix[y*img.Stride+r.Min.X : y*img.Stride+r.Max.X]
		for i := range row {
			row[i] = 0
		}
	}
}

type align int

const (
	left align = iota
	center
	valueColumn // values beside their labels
)

// drawText draws s with its baseline at y, at size points or smaller so that
// it fits its column.
func drawText(img *image.Gray, f *opentype.Font, size float64, s string, y float64, a align) error {
	x0, width := int(margin), int(contentW)
	if a == valueColumn {
		x0 = margin + int(1.9*dpi)
		width = pageW - margin - x0
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: dpi, Hinting: font.HintingNone})
	if err != nil {
		return fmt.Errorf("sheets: font face: %w", err)
	}
	adv := font.MeasureString(face, s).Ceil()
	if adv > width {
		face.Close()
		size *= float64(width) / float64(adv) * 0.98
		if face, err = opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: dpi, Hinting: font.HintingNone}); err != nil {
			return fmt.Errorf("sheets: font face: %w", err)
		}
		adv = font.MeasureString(face, s).Ceil()
	}
	defer face.Close()
	x := x0
	if a == center {
		x = (pageW - adv) / 2
	}
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.Gray{}), Face: face, Dot: fixed.P(x, int(y))}
	d.DrawString(s)
	return nil
}
