package scangen

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
)

// This file owns bodies from real text: documents whose body is a text
// file (Options.Bodies), laid out under the generator's letterheads,
// patient blocks, running headers and footers, with the same ground truth.

// Bodies is a labelled source of document bodies: for each document type,
// texts of one document each. It is read-only once made and safe to share
// between batches.
type Bodies struct {
	byType map[string][]string
	types  []string // types with at least one text, in DocumentTypes order
}

// maxBodyBytes bounds one body file; longer ones are refused.
const maxBodyBytes = 1 << 20

// LoadBodies reads a folder laid out DIR/<type>/*.txt, one document a
// file, where <type> is one of DocumentTypes. Files are taken in name
// order; empty files, other extensions and folders of no known type are
// refused with an error, so that a mislabelled folder is not silently
// skipped. It fails when no text is found.
func LoadBodies(dir string) (*Bodies, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("scangen: read bodies folder: %w", err)
	}
	b := &Bodies{byType: map[string][]string{}}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if kindByCode(e.Name()) == nil {
			return nil, fmt.Errorf("scangen: bodies folder %q is not a document type (want one of %s)", e.Name(), strings.Join(DocumentTypes(), ", "))
		}
		files, err := os.ReadDir(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("scangen: read bodies of %s: %w", e.Name(), err)
		}
		for _, f := range files {
			if f.IsDir() || strings.HasPrefix(f.Name(), ".") {
				continue
			}
			if filepath.Ext(f.Name()) != ".txt" {
				return nil, fmt.Errorf("scangen: body %s/%s is not a .txt file", e.Name(), f.Name())
			}
			text, err := readBody(filepath.Join(dir, e.Name(), f.Name()))
			if err != nil {
				return nil, fmt.Errorf("scangen: body %s/%s: %w", e.Name(), f.Name(), err)
			}
			b.byType[e.Name()] = append(b.byType[e.Name()], text)
		}
	}
	for _, t := range DocumentTypes() {
		if len(b.byType[t]) > 0 {
			b.types = append(b.types, t)
		}
	}
	if len(b.types) == 0 {
		return nil, errors.New("scangen: no body texts found")
	}
	return b, nil
}

// NewBodies makes a body source from texts by type code (for tests and
// callers holding texts in memory).
func NewBodies(texts map[string][]string) (*Bodies, error) {
	b := &Bodies{byType: map[string][]string{}}
	for t, list := range texts {
		if kindByCode(t) == nil {
			return nil, fmt.Errorf("scangen: bodies of unknown type %q", t)
		}
		for _, x := range list {
			if strings.TrimSpace(x) == "" {
				return nil, fmt.Errorf("scangen: empty body of type %s", t)
			}
			b.byType[t] = append(b.byType[t], normalizeBody(x))
		}
	}
	for _, t := range DocumentTypes() {
		if len(b.byType[t]) > 0 {
			b.types = append(b.types, t)
		}
	}
	if len(b.types) == 0 {
		return nil, errors.New("scangen: no body texts given")
	}
	return b, nil
}

// Types returns the document types that have texts, in DocumentTypes order.
func (b *Bodies) Types() []string { return slices.Clone(b.types) }

// Len is the number of texts of a type.
func (b *Bodies) Len(docType string) int { return len(b.byType[docType]) }

func readBody(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.Size() > maxBodyBytes {
		return "", fmt.Errorf("larger than %d bytes", maxBodyBytes)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	text := normalizeBody(string(raw))
	if strings.TrimSpace(text) == "" {
		return "", fs.ErrInvalid
	}
	return text, nil
}

// normalizeBody keeps printable text: tabs become spaces, other control
// characters and characters the fonts lack are dropped, line ends are
// "\n".
func normalizeBody(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	var b strings.Builder
	for _, c := range s {
		switch {
		case c == '\n':
			b.WriteRune(c)
		case c == '\t':
			b.WriteString("    ")
		case c == '\u2018' || c == '\u2019':
			b.WriteByte('\'')
		case c == '\u201c' || c == '\u201d':
			b.WriteByte('"')
		case c == '\u2013' || c == '\u2014':
			b.WriteByte('-')
		case c < 128 && unicode.IsPrint(c):
			b.WriteRune(c)
		case c >= 128 && unicode.IsLetter(c) && c < 0x250:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// pick draws a body of the type.
func (b *Bodies) pick(r *rand.Rand, docType string) string {
	return pick(r, b.byType[docType])
}

// pickKind draws the type of the next document among those with texts,
// by the usual type weights.
func (b *Bodies) pickKind(r *rand.Rand) *docKind {
	total := 0
	for _, t := range b.types {
		total += kindByCode(t).weight
	}
	n := r.IntN(total)
	for _, t := range b.types {
		k := kindByCode(t)
		if n < k.weight {
			return k
		}
		n -= k.weight
	}
	return kindByCode(b.types[0])
}

// textBlocks lays a text out as blocks: paragraphs (separated by blank
// lines) are wrapped; a short line ending with a colon, or a short line
// in capitals, is a heading kept with what follows; in a paragraph of
// short lines (a list, a table) every line keeps its own line.
func textBlocks(text string, bodyFont, bold fontID) []block {
	var out []block
	var para []string
	flush := func() {
		if len(para) == 0 {
			return
		}
		short := len(para) > 1
		for _, l := range para {
			if len(l) > 60 {
				short = false
			}
		}
		if short {
			for _, l := range para {
				out = append(out, block{kind: blockPara, font: bodyFont, text: l})
			}
		} else {
			out = append(out, block{kind: blockPara, font: bodyFont, text: strings.Join(para, " ")})
		}
		out = append(out, block{kind: blockGap, gap: 0.1})
		para = nil
	}
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			flush()
			continue
		}
		if isHeading(l) {
			flush()
			out = append(out, block{kind: blockLines, font: bold, lines: []string{l}, keepWithNext: true})
			continue
		}
		para = append(para, l)
	}
	flush()
	return out
}

// isHeading: a line of at most six words ending with a colon, or of at
// most eight words in capitals.
func isHeading(l string) bool {
	words := strings.Fields(l)
	if len(words) == 0 || len(l) > 60 {
		return false
	}
	if strings.HasSuffix(l, ":") && len(words) <= 6 {
		return true
	}
	letters := 0
	for _, c := range l {
		if unicode.IsLower(c) {
			return false
		}
		if unicode.IsUpper(c) {
			letters++
		}
	}
	return letters >= 3 && len(words) <= 8
}
