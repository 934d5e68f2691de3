// Package sheets owns cover and separator sheets: printing them, and
// recognising them on scanned pages.
//
// A cover sheet goes on top of one patient's document: its barcodes name the
// patient (MRN and assigning authority) and optionally the document type, so
// that every page after it, up to the next sheet, is filed as that patient's
// document. A separator sheet carries a fixed value (DefaultSeparator,
// "PATCHT", as Paperless-ngx uses) and only says "a new document starts
// here". Neither sheet is stored as a page of the document.
//
// Each sheet carries its payload twice, as a QR code and as a Code 128
// barcode: decoding either is enough. The cover payload is a short versioned
// text with a CRC-16, so a misread barcode cannot yield a different valid MRN
// (see CoverPayload).
//
// Detect finds barcodes on a scanned page; Classify says whether the page is
// a cover or separator sheet, and Labels returns the patient-label barcodes
// (a Code 128 holding just an MRN, as wristband labels print) that a caller
// can use as identifiers on ordinary pages.
//
// Patient data (names, MRNs, birth dates) is printed on the sheets and
// carried in their barcodes, but never appears in this package's errors.
package sheets

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Kind says what a barcode, or the page it is on, is.
type Kind int

const (
	// Other is any barcode that is neither a sheet nor a patient label.
	Other Kind = iota
	// Cover is a cover sheet: it names the patient of the document after it.
	Cover
	// Separator is a separator sheet: a new document starts after it.
	Separator
	// Label is a patient-label barcode on an ordinary page: an identifier.
	Label
)

// String returns the kind's name in lower case.
func (k Kind) String() string {
	switch k {
	case Cover:
		return "cover"
	case Separator:
		return "separator"
	case Label:
		return "label"
	}
	return "other"
}

// Sheet is what a barcode says: a cover sheet's patient and document type,
// a separator sheet, or (Kind Label) a patient label's identifier in MRN.
type Sheet struct {
	Kind Kind
	// Authority is the MRN's assigning authority; empty for the default one.
	Authority string
	// MRN is the medical record number (cover sheets and labels).
	MRN string
	// Type is the document type code (for example a LOINC document code),
	// empty when the cover sheet leaves it to the classifier.
	Type string
}

// DefaultSeparator is the separator sheet value used unless configured
// otherwise; Paperless-ngx uses the same one.
const DefaultSeparator = "PATCHT"

const (
	coverPrefix = "PCCS1" // paperchart cover sheet, payload version 1
	// MaxPayload is the longest payload accepted, so that the Code 128
	// keeps at least 3 printer dots (10 mil) per module across the page
	// (typical payloads get 4 or 5).
	MaxPayload = 48
)

// ErrPayloadTooLong is returned when a cover sheet's fields do not fit in
// MaxPayload characters.
var ErrPayloadTooLong = errors.New("sheets: cover sheet fields too long for its barcodes")

// CoverPayload returns the barcode text of a cover sheet. The MRN is
// required. The error never contains the fields' values.
//
// The format, version 1:
//
//	PCCS1|A=<authority>|M=<mrn>|T=<type>|C=<check>
//
// for example PCCS1|A=MAIN|M=00482913|T=18842-5|C=9167. Fields come in this
// order; A and T are left out when empty, M is required. Values are
// percent-encoded: '%', '|' and every byte outside printable ASCII
// (including space) are written %XX with upper-case hex digits, and nothing
// else is, so each sheet has exactly one payload and a value can never be
// taken for a field. C is the CRC-16/CCITT-FALSE (polynomial 0x1021,
// initial value 0xFFFF) of every byte before "|C=", as four upper-case hex
// digits. It catches every single-character error and every swap of
// neighbouring characters, and other damage with probability 1-2^-16, on
// top of the QR code's Reed–Solomon and Code 128's own check: a misread
// never yields a different valid MRN. A later format changes the version
// number; ParsePayload rejects versions it does not know.
func CoverPayload(authority, mrn, docType string) (string, error) {
	if mrn == "" {
		return "", errors.New("sheets: cover sheet needs an MRN")
	}
	var b strings.Builder
	b.WriteString(coverPrefix)
	for _, f := range []struct {
		key byte
		val string
	}{{'A', authority}, {'M', mrn}, {'T', docType}} {
		if f.val == "" {
			continue
		}
		b.WriteByte('|')
		b.WriteByte(f.key)
		b.WriteByte('=')
		escape(&b, f.val)
	}
	body := b.String()
	p := fmt.Sprintf("%s|C=%04X", body, crc16([]byte(body)))
	if len(p) > MaxPayload {
		return "", fmt.Errorf("%w: %d characters, at most %d", ErrPayloadTooLong, len(p), MaxPayload)
	}
	return p, nil
}

// ParsePayload reads a barcode's text: a cover sheet payload (checked
// strictly, its CRC included) or DefaultSeparator. It reports false for
// anything else, including a damaged or tampered cover payload. A configured
// separator other than the default is recognised by Classify and KindOf.
func ParsePayload(text string) (Sheet, bool) {
	if text == DefaultSeparator {
		return Sheet{Kind: Separator}, true
	}
	return parseCover(text)
}

func parseCover(text string) (Sheet, bool) {
	body, crc, ok := strings.Cut(text, "|C=")
	if !ok || len(crc) != 4 || strings.ToUpper(crc) != crc {
		return Sheet{}, false
	}
	want, err := strconv.ParseUint(crc, 16, 16)
	if err != nil || uint16(want) != crc16([]byte(body)) {
		return Sheet{}, false
	}
	fields := strings.Split(body, "|")
	if fields[0] != coverPrefix {
		return Sheet{}, false
	}
	s := Sheet{Kind: Cover}
	order := "AMT"
	for _, f := range fields[1:] {
		if len(f) < 3 || f[1] != '=' {
			return Sheet{}, false
		}
		i := strings.IndexByte(order, f[0])
		if i < 0 {
			return Sheet{}, false // unknown, repeated or out of order
		}
		order = order[i+1:]
		v, ok := unescape(f[2:])
		if !ok {
			return Sheet{}, false
		}
		switch f[0] {
		case 'A':
			s.Authority = v
		case 'M':
			s.MRN = v
		case 'T':
			s.Type = v
		}
	}
	if s.MRN == "" {
		return Sheet{}, false
	}
	return s, true
}

// KindOf says what a barcode's text is, given the configured separator value
// ("" means DefaultSeparator). A text that starts like a cover payload but
// fails its check is Other, never a label.
func KindOf(text, separator string) Kind {
	if separator == "" {
		separator = DefaultSeparator
	}
	switch {
	case text == separator:
		return Separator
	case strings.HasPrefix(text, "PCCS"):
		if _, ok := parseCover(text); ok {
			return Cover
		}
		return Other
	case looksLikeLabel(text):
		return Label
	}
	return Other
}

// looksLikeLabel reports whether text could be a patient identifier as
// label printers encode it: 4 to 20 letters, digits or '-', starting with a
// letter or digit and holding at least three digits.
func looksLikeLabel(text string) bool {
	if len(text) < 4 || len(text) > 20 || text[0] == '-' {
		return false
	}
	digits := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c == '-':
		default:
			return false
		}
	}
	return digits >= 3
}

func mustEscape(c byte) bool { return c == '%' || c == '|' || c <= ' ' || c > '~' }

func escape(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if mustEscape(c) {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
}

// unescape reverses escape and rejects any other spelling of the same value
// (lower-case hex, escaped characters that need none, bare '%').
func unescape(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			if mustEscape(c) {
				return "", false
			}
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		h := s[i+1 : i+3]
		if strings.ToUpper(h) != h {
			return "", false
		}
		v, err := strconv.ParseUint(h, 16, 8)
		if err != nil || !mustEscape(byte(v)) {
			return "", false
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), true
}

// crc16 is CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no
// reflection, no final XOR.
func crc16(data []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, d := range data {
		crc ^= uint16(d) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
