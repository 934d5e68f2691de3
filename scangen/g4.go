package scangen

import (
	"bytes"
	"image"
)

// This file holds a CCITT Group 4 (ITU-T T.6) encoder for bilevel images.
//
// Pixels of an *image.Gray below 128 are black, the rest white. The encoded
// stream has no EOL codes, no byte alignment of rows, MSB-first bit order and
// ends with an EOFB (two EOL codes) padded with zero bits to a byte boundary,
// which is what PDF's CCITTFaxDecode with /K -1 and TIFF's Compression=4
// (T6Options=0) expect. The white/black meaning is in the code itself: a
// reader chooses with /BlackIs1 (PDF) or PhotometricInterpretation (TIFF)
// which decoded bit value stands for black.

// code is one variable-length code word: the low n bits of bits, MSB first.
type code struct {
	bits uint32
	n    uint8
}

// parseCodes turns code words written as strings of '0' and '1' into codes.
func parseCodes(words []string) []code {
	out := make([]code, len(words))
	for i, w := range words {
		var c code
		for _, ch := range w {
			c.bits <<= 1
			if ch == '1' {
				c.bits |= 1
			}
			c.n++
		}
		out[i] = c
	}
	return out
}

// Modified Huffman run-length codes (T.4 tables 2 and 3). Index i of the
// terminating tables codes a run of i; index i of the make-up tables codes a
// run of 64*(i+1); the extended make-up codes, shared by both colours, code
// 1792 + 64*i.
var (
	whiteTerm = parseCodes([]string{
		"00110101", "000111", "0111", "1000", "1011", "1100", "1110", "1111",
		"10011", "10100", "00111", "01000", "001000", "000011", "110100", "110101",
		"101010", "101011", "0100111", "0001100", "0001000", "0010111", "0000011", "0000100",
		"0101000", "0101011", "0010011", "0100100", "0011000", "00000010", "00000011", "00011010",
		"00011011", "00010010", "00010011", "00010100", "00010101", "00010110", "00010111", "00101000",
		"00101001", "00101010", "00101011", "00101100", "00101101", "00000100", "00000101", "00001010",
		"00001011", "01010010", "01010011", "01010100", "01010101", "00100100", "00100101", "01011000",
		"01011001", "01011010", "01011011", "01001010", "01001011", "00110010", "00110011", "00110100",
	})
	blackTerm = parseCodes([]string{
		"0000110111", "010", "11", "10", "011", "0011", "0010", "00011",
		"000101", "000100", "0000100", "0000101", "0000111", "00000100", "00000111", "000011000",
		"0000010111", "0000011000", "0000001000", "00001100111", "00001101000", "00001101100", "00000110111", "00000101000",
		"00000010111", "00000011000", "000011001010", "000011001011", "000011001100", "000011001101", "000001101000", "000001101001",
		"000001101010", "000001101011", "000011010010", "000011010011", "000011010100", "000011010101", "000011010110", "000011010111",
		"000001101100", "000001101101", "000011011010", "000011011011", "000001010100", "000001010101", "000001010110", "000001010111",
		"000001100100", "000001100101", "000001010010", "000001010011", "000000100100", "000000110111", "000000111000", "000000100111",
		"000000101000", "000001011000", "000001011001", "000000101011", "000000101100", "000001011010", "000001100110", "000001100111",
	})
	whiteMakeup = parseCodes([]string{
		"11011", "10010", "010111", "0110111", "00110110", "00110111", "01100100", "01100101",
		"01101000", "01100111", "011001100", "011001101", "011010010", "011010011", "011010100", "011010101",
		"011010110", "011010111", "011011000", "011011001", "011011010", "011011011", "010011000", "010011001",
		"010011010", "011000", "010011011",
	})
	blackMakeup = parseCodes([]string{
		"0000001111", "000011001000", "000011001001", "000001011011", "000000110011", "000000110100", "000000110101", "0000001101100",
		"0000001101101", "0000001001010", "0000001001011", "0000001001100", "0000001001101", "0000001110010", "0000001110011", "0000001110100",
		"0000001110101", "0000001110110", "0000001110111", "0000001010010", "0000001010011", "0000001010100", "0000001010101", "0000001011010",
		"0000001011011", "0000001100100", "0000001100101",
	})
	extMakeup = parseCodes([]string{
		"00000001000", "00000001100", "00000001101", "000000010010", "000000010011", "000000010100", "000000010101",
		"000000010110", "000000010111", "000000011100", "000000011101", "000000011110", "000000011111",
	})
)

// Two-dimensional mode codes (T.4 table 4 / T.6 table 1).
var (
	codePass  = code{0b0001, 4}
	codeHoriz = code{0b001, 3}
	codeEOL   = code{0b000000000001, 12}
	// codeVert[d+3] codes vertical mode with a1 - b1 = d.
	codeVert = [7]code{
		{0b0000010, 7}, // VL3
		{0b000010, 6},  // VL2
		{0b010, 3},     // VL1
		{0b1, 1},       // V0
		{0b011, 3},     // VR1
		{0b000011, 6},  // VR2
		{0b0000011, 7}, // VR3
	}
)

// bitWriter accumulates bits MSB first.
type bitWriter struct {
	buf  bytes.Buffer
	acc  uint64
	nacc uint
}

func (w *bitWriter) put(c code) {
	w.acc = w.acc<<c.n | uint64(c.bits)
	w.nacc += uint(c.n)
	for w.nacc >= 8 {
		w.nacc -= 8
		w.buf.WriteByte(byte(w.acc >> w.nacc))
	}
}

// flush pads the last byte with zero bits.
func (w *bitWriter) flush() {
	if w.nacc > 0 {
		w.buf.WriteByte(byte(w.acc << (8 - w.nacc)))
		w.nacc = 0
	}
	w.acc = 0
}

// putRun writes a run length of the given colour: make-up codes for the
// multiples of 64 (repeating the largest, 2560, for very long runs), then one
// terminating code.
func (w *bitWriter) putRun(n int, black bool) {
	term, makeup := whiteTerm, whiteMakeup
	if black {
		term, makeup = blackTerm, blackMakeup
	}
	for n >= 2560+64 {
		w.put(extMakeup[len(extMakeup)-1])
		n -= 2560
	}
	if n >= 64 {
		m := n / 64 // 1..40
		if m <= len(makeup) {
			w.put(makeup[m-1])
		} else {
			w.put(extMakeup[m-28]) // 1792 = 28*64
		}
		n -= m * 64
	}
	w.put(term[n])
}

// changes appends to dst the changing elements of one row: the positions
// where the colour differs from the pixel to the left, starting from an
// imaginary white pixel left of the row. Even indices are white-to-black
// changes, odd ones black-to-white. Two sentinels equal to the width end the
// list, so b1 and b2 can always be read.
func changes(dst []int, row []uint8) []int {
	dst = dst[:0]
	black := false
	for x, v := range row {
		if (v < 128) != black {
			black = !black
			dst = append(dst, x)
		}
	}
	return append(dst, len(row), len(row))
}

// encodeG4 encodes img as a CCITT Group 4 stream.
func encodeG4(img *image.Gray) []byte {
	b := img.Bounds()
	width, height := b.Dx(), b.Dy()
	var w bitWriter
	w.buf.Grow(width * height / 40)
	ref := []int{width, width} // imaginary all-white line above the first
	cur := make([]int, 0, 64)
	for y := 0; y < height; y++ {
		off := img.PixOffset(b.Min.X, b.Min.Y+y)
		cur = changes(cur, img.Pix[off:off+width])
		encodeRowG4(&w, cur, ref, width)
		ref, cur = cur, ref
	}
	w.put(codeEOL)
	w.put(codeEOL)
	w.flush()
	return w.buf.Bytes()
}

// encodeRowG4 codes one row given its changing elements and those of the
// reference row (both as returned by changes).
func encodeRowG4(w *bitWriter, cur, ref []int, width int) {
	a0 := -1
	black := false // colour of a0
	ia := 0        // index into cur of the first change > a0
	ib := 0        // index into ref from which to search b1
	for a0 < width {
		for cur[ia] <= a0 && cur[ia] < width {
			ia++
		}
		a1 := cur[ia]
		// b1: first change on ref right of a0 with the colour opposite to
		// a0's: white-to-black changes (even index) when a0 is white.
		for ref[ib] <= a0 && ref[ib] < width {
			ib++
		}
		j := ib
		if (j&1 == 1) != black && ref[j] < width { // wrong colour: the next one
			j++
		}
		b1 := ref[j]
		b2 := width
		if b1 < width {
			b2 = ref[j+1]
		}
		switch d := a1 - b1; {
		case b2 < a1: // pass mode
			w.put(codePass)
			a0 = b2
		case d >= -3 && d <= 3: // vertical mode
			w.put(codeVert[d+3])
			a0 = a1
			black = !black
		default: // horizontal mode
			a2 := width
			if a1 < width {
				a2 = cur[ia+1]
			}
			start := max(a0, 0)
			w.put(codeHoriz)
			w.putRun(a1-start, black)
			w.putRun(a2-a1, !black)
			a0 = a2
		}
	}
}
