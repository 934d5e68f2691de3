package split

import (
	"math"
	"strconv"
)

// matrix is a PDF transformation matrix [a b c d e f].
type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

// mul returns m×n: first m, then n (PDF "cm" sets CTM = M × CTM).
func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2],
		m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2],
		m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4],
		m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

func (m matrix) apply(x, y float64) (float64, float64) {
	return m[0]*x + m[2]*y + m[4], m[1]*x + m[3]*y + m[5]
}

// bbox returns the bounding box of the rectangle (x, y, w, h) under m.
func (m matrix) bbox(x, y, w, h float64) [4]float64 {
	b := [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, p := range [][2]float64{{x, y}, {x + w, y}, {x, y + h}, {x + w, y + h}} {
		px, py := m.apply(p[0], p[1])
		b[0], b[1] = min(b[0], px), min(b[1], py)
		b[2], b[3] = max(b[2], px), max(b[3], py)
	}
	return b
}

// contentScan is what a page's content stream does when it only draws one
// image XObject.
type contentScan struct {
	name  string       // resource name of the XObject drawn with Do
	ctm   matrix       // transformation in effect at the Do
	clips [][4]float64 // bounding boxes (user space) of clipping rectangles in effect
}

// noEffectOps are operators that change no pixel of a page that only draws
// one image (graphics state, colour for later fills, marked content).
var noEffectOps = map[string]bool{
	"gs": true, "ri": true, "i": true, "w": true, "J": true, "j": true, "M": true, "d": true,
	"BDC": true, "BMC": true, "EMC": true, "MP": true, "DP": true, "BX": true, "EX": true,
	"g": true, "G": true, "rg": true, "RG": true, "k": true, "K": true,
	"cs": true, "CS": true, "sc": true, "SC": true, "scn": true, "SCN": true,
}

// scanContent reports whether a content stream does nothing but draw exactly
// one XObject (plus clipping rectangles and state that changes no pixel).
// It is deliberately conservative: anything it does not understand returns
// ok=false, and the page is then rasterised by pdftoppm, which is always
// correct, only slower.
func scanContent(b []byte) (sc contentScan, ok bool) {
	type gstate struct {
		ctm   matrix
		clips [][4]float64
	}
	st := gstate{ctm: identity}
	var stack []gstate
	var nums []float64 // numeric operands since the last operator
	var name string    // last name operand
	var pendingRect []([4]float64)
	clipPending := false
	found := false
	operands := 0

	i := 0
	for i < len(b) {
		c := b[i]
		switch {
		case isSpace(c):
			i++
			continue
		case c == '%':
			for i < len(b) && b[i] != '\n' && b[i] != '\r' {
				i++
			}
			continue
		case c == '(':
			i = skipString(b, i)
			operands++
			continue
		case c == '<' && i+1 < len(b) && b[i+1] == '<':
			var ok bool
			if i, ok = skipDict(b, i); !ok {
				return contentScan{}, false
			}
			operands++
			continue
		case c == '<':
			for i < len(b) && b[i] != '>' {
				i++
			}
			i++
			operands++
			continue
		case c == '[' || c == ']':
			i++
			operands++
			continue
		case c == '/':
			j := i + 1
			for j < len(b) && !isSpace(b[j]) && !isDelim(b[j]) {
				j++
			}
			name = string(b[i+1 : j])
			i = j
			operands++
			continue
		}
		j := i
		for j < len(b) && !isSpace(b[j]) && !isDelim(b[j]) {
			j++
		}
		if j == i { // a stray delimiter such as ')' or '>'
			return sc, false
		}
		tok := string(b[i:j])
		i = j
		if v, err := strconv.ParseFloat(tok, 64); err == nil && (tok[0] == '-' || tok[0] == '+' || tok[0] == '.' || (tok[0] >= '0' && tok[0] <= '9')) {
			nums = append(nums, v)
			operands++
			continue
		}
		switch tok {
		case "q":
			stack = append(stack, gstate{ctm: st.ctm, clips: append([][4]float64(nil), st.clips...)})
		case "Q":
			if len(stack) == 0 {
				return sc, false
			}
			st = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
		case "cm":
			if len(nums) != 6 || operands != 6 {
				return sc, false
			}
			st.ctm = matrix(nums).mul(st.ctm)
		case "re":
			if len(nums) != 4 || operands != 4 {
				return sc, false
			}
			pendingRect = append(pendingRect, st.ctm.bbox(nums[0], nums[1], nums[2], nums[3]))
		case "W", "W*":
			clipPending = true
		case "n":
			if clipPending {
				if len(pendingRect) != 1 {
					return sc, false
				}
				st.clips = append(st.clips, pendingRect[0])
			}
			pendingRect, clipPending = nil, false
		case "Do":
			if found || name == "" || operands != 1 {
				return sc, false
			}
			found = true
			sc = contentScan{name: name, ctm: st.ctm, clips: append([][4]float64(nil), st.clips...)}
		default:
			if !noEffectOps[tok] {
				return contentScan{}, false
			}
		}
		if tok != "re" && tok != "W" && tok != "W*" && len(pendingRect) > 0 && tok != "n" {
			return contentScan{}, false // a path that is painted or left open
		}
		nums, name, operands = nums[:0], "", 0
	}
	if !found || len(pendingRect) > 0 {
		return contentScan{}, false
	}
	return sc, true
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// axisRotation returns how many degrees clockwise an image drawn with m must
// be turned to look as it does on the page, when m maps the image's unit
// square without skew or mirroring.
func axisRotation(m matrix) (int, bool) {
	a, b, c, d := m[0], m[1], m[2], m[3]
	scale := max(math.Abs(a), math.Abs(b), math.Abs(c), math.Abs(d))
	if scale == 0 {
		return 0, false
	}
	eps := scale * 1e-3
	switch {
	case math.Abs(b) < eps && math.Abs(c) < eps:
		switch {
		case a > 0 && d > 0:
			return 0, true
		case a < 0 && d < 0:
			return 180, true
		}
	case math.Abs(a) < eps && math.Abs(d) < eps:
		// The image's up (v axis) points along (c, d).
		switch {
		case b < 0 && c > 0:
			return 90, true
		case b > 0 && c < 0:
			return 270, true
		}
	}
	return 0, false
}

// skipString returns the index after the literal string starting at b[i] == '('.
func skipString(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return i
}

// skipDict returns the index after the dictionary starting at b[i:] == "<<".
// Dictionaries holding strings are not understood (ok=false).
func skipDict(b []byte, i int) (int, bool) {
	depth := 0
	for i+1 < len(b) {
		switch {
		case b[i] == '<' && b[i+1] == '<':
			depth++
			i += 2
		case b[i] == '>' && b[i+1] == '>':
			depth--
			i += 2
			if depth == 0 {
				return i, true
			}
		case b[i] == '(':
			return i, false
		default:
			i++
		}
	}
	return len(b), false
}
