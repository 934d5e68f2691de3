package scangen

import (
	"math/rand/v2"
	"strings"
	"unicode"
)

// This file owns the text-only corpus: the same documents as the scanned
// batches, as text, without rendering a pixel, for training and evaluating
// the document classifier in seconds.

// LabelledDoc is one generated document as text, with its type.
type LabelledDoc struct {
	Type  string   // document type code, one of DocumentTypes
	Text  string   // the pages joined with a blank line
	Pages []string // the text of each page, lines joined with "\n"
	MRN   string   // the patient's medical record number (fictional)
}

// Corpus returns perType documents of every type, as clean text: what OCR
// of a perfect scan would return. The same seed gives the same documents.
func Corpus(seed uint64, perType int) []LabelledDoc {
	return corpus(seed, perType, 0)
}

// NoisyCorpus is Corpus with simulated OCR errors: each document gets a
// character error rate drawn between noise/3 and noise (0.03 is typical of
// real scans) made of character confusions (O/0, l/1, rn/m, ...), dropped,
// doubled and merged spaces, and the lines of two-column headers sometimes
// read column by column instead of row by row. One multi-page document in
// five keeps only its continuation pages (no title, no header), as when a
// document was split in the wrong place.
func NoisyCorpus(seed uint64, perType int, noise float64) []LabelledDoc {
	return corpus(seed, perType, noise)
}

func corpus(seed uint64, perType int, noise float64) []LabelledDoc {
	out := make([]LabelledDoc, 0, perType*len(docKinds))
	for i := range perType {
		for k := range docKinds {
			r := rand.New(rand.NewPCG(seed, uint64(i*len(docKinds)+k)+1))
			d := newDocument(r, &docKinds[k], 1, 6, newPatient(r))
			rate := 0.0
			if noise > 0 {
				rate = noise/3 + r.Float64()*noise*2/3
			}
			doc := LabelledDoc{Type: d.kind.code, MRN: d.patient.mrn}
			d.build(r, 100, 6)
			for p := 1; p <= d.pages; p++ {
				pc := d.page(p)
				text := pc.plainText(r, rate > 0 && r.IntN(3) == 0)
				if rate > 0 {
					text = ocrNoise(r, text, rate)
				}
				doc.Pages = append(doc.Pages, text)
			}
			if noise > 0 && len(doc.Pages) > 1 && r.IntN(5) == 0 {
				doc.Pages = doc.Pages[1+r.IntN(len(doc.Pages)-1):]
			}
			doc.Text = strings.Join(doc.Pages, "\n\n")
			out = append(out, doc)
		}
	}
	return out
}

// plainText lays a page out as text without rendering: paragraphs wrapped
// at about the width of the page, cut at about the number of lines a page
// holds. With columnwise, two-column blocks are read column after column.
func (pc *pageContent) plainText(r *rand.Rand, columnwise bool) string {
	size := pc.bodySize
	if size == 0 {
		size = 11
	}
	width := int(7 * 72 / (size * 0.55))
	budget := int(9.2 * 72 / (size * 1.3))
	var lines []string
	var add func(b block)
	add = func(b block) {
		switch b.kind {
		case blockLines:
			lines = append(lines, b.lines...)
		case blockPara:
			lines = append(lines, wrapChars(b.text, width)...)
		case blockTable:
			for _, row := range b.rows {
				var cells []string
				for _, c := range row {
					if c != "" {
						cells = append(cells, c)
					}
				}
				lines = append(lines, strings.Join(cells, " "))
			}
		case blockColumns:
			var left, right []string
			for _, c := range b.left {
				left = append(left, c.lines...)
			}
			for _, c := range b.right {
				right = append(right, c.lines...)
			}
			if columnwise {
				lines = append(lines, left...)
				lines = append(lines, right...)
				return
			}
			for i := range max(len(left), len(right)) {
				var parts []string
				if i < len(left) {
					parts = append(parts, left[i])
				}
				if i < len(right) {
					parts = append(parts, right[i])
				}
				lines = append(lines, strings.Join(parts, " "))
			}
		}
	}
	for _, b := range pc.blocks {
		add(b)
	}
	if len(lines) > budget {
		lines = lines[:budget]
	}
	for _, b := range pc.tail {
		add(b)
	}
	if pc.footer != "" {
		lines = append(lines, pc.footer)
	}
	return strings.Join(lines, "\n")
}

func wrapChars(text string, width int) []string {
	var lines []string
	var cur strings.Builder
	for _, w := range strings.Fields(text) {
		if cur.Len() > 0 && cur.Len()+1+len(w) > width {
			lines = append(lines, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte(' ')
		}
		cur.WriteString(w)
	}
	if cur.Len() > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}

// OCRConfusions returns what OCR engines misread the character c as, for
// simulating OCR errors (nil for none). Reading text back (MRNs, dates)
// undoes confusions with chart.DigitFor and chart.LetterFor instead.
func OCRConfusions(c rune) []string { return confusions[c] }

// confusions are characters OCR engines mistake for each other.
var confusions = map[rune][]string{
	'O': {"0", "Q", "D"}, '0': {"O", "o"}, 'o': {"0", "a", "c"}, 'l': {"1", "I", "|"}, '1': {"l", "I", "7"},
	'I': {"l", "1", "|"}, 'S': {"5", "$"}, '5': {"S", "6"}, 'B': {"8", "R"}, '8': {"B", "3"}, 'e': {"c", "o"},
	'a': {"o", "e"}, 'c': {"e", "o"}, 'm': {"rn", "nn"}, 'n': {"ri", "h"}, 'h': {"b", "n"}, 'u': {"v", "ii"},
	'i': {"l", "1", "j"}, 'r': {"n", "t"}, 't': {"l", "f"}, 'g': {"q", "9"}, 'G': {"6", "C"}, 'E': {"F", "B"},
	'.': {",", ""}, ',': {".", ""}, 'd': {"cl", "a"}, 'w': {"vv"}, 'D': {"O", "0"}, 'Z': {"2"}, '2': {"Z"},
	'P': {"F", "R"},
}

// ocrNoise damages text at about rate errors per character.
func ocrNoise(r *rand.Rand, text string, rate float64) string {
	var b strings.Builder
	b.Grow(len(text) + len(text)/20)
	for _, c := range text {
		if c == '\n' || r.Float64() >= rate {
			b.WriteRune(c)
			continue
		}
		switch {
		case c == ' ':
			if r.IntN(3) > 0 { // merged words
				continue
			}
			b.WriteString("  ")
		case r.IntN(10) < 7:
			if alts, ok := confusions[c]; ok {
				b.WriteString(pick(r, alts))
			} else if unicode.IsLetter(c) && r.IntN(2) == 0 {
				b.WriteRune(unicode.SimpleFold(c))
			}
			// else: dropped
		case r.IntN(2) == 0:
			b.WriteRune(c)
			b.WriteByte(' ') // a word split in two
		default:
			b.WriteRune(c)
			b.WriteRune(c)
		}
	}
	return b.String()
}
