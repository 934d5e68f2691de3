package match

import "paperchart/chart"

// Jaro returns the Jaro similarity of a and b (1 = equal, 0 = nothing in common), comparing bytes;
// callers pass normalized (lower-case ASCII) strings.
func Jaro(a, b string) float64 {
	if a == b {
		if a == "" {
			return 0
		}
		return 1
	}
	la, lb := len(a), len(b)
	if la == 0 || lb == 0 {
		return 0
	}
	window := max(la, lb)/2 - 1
	if window < 0 {
		window = 0
	}
	// Names are short: fixed buffers avoid allocation in the common case.
	var fa, fb [64]bool
	ma, mb := fa[:0], fb[:0]
	if la > 64 || lb > 64 {
		ma, mb = make([]bool, la), make([]bool, lb)
	} else {
		ma, mb = fa[:la], fb[:lb]
	}
	matches := 0
	for i := 0; i < la; i++ {
		lo, hi := max(0, i-window), min(lb-1, i+window)
		for j := lo; j <= hi; j++ {
			if !mb[j] && a[i] == b[j] {
				ma[i], mb[j] = true, true
				matches++
				break
			}
		}
	}
	if matches == 0 {
		return 0
	}
	transpositions, j := 0, 0
	for i := 0; i < la; i++ {
		if !ma[i] {
			continue
		}
		for !mb[j] {
			j++
		}
		if a[i] != b[j] {
			transpositions++
		}
		j++
	}
	m := float64(matches)
	return (m/float64(la) + m/float64(lb) + (m-float64(transpositions/2))/m) / 3
}

// JaroWinkler returns the Jaro–Winkler similarity of a and b: the Jaro similarity raised for a
// common prefix of up to four characters, with the usual scaling factor 0.1.
func JaroWinkler(a, b string) float64 {
	j := Jaro(a, b)
	prefix := 0
	for prefix < 4 && prefix < len(a) && prefix < len(b) && a[prefix] == b[prefix] {
		prefix++
	}
	return j + float64(prefix)*0.1*(1-j)
}

// Soundex returns the American Soundex code of a name (letter and three digits), or "" when the
// name has no letter a–z. Callers pass normalized names.
func Soundex(s string) string {
	code := func(c byte) byte {
		switch c {
		case 'b', 'f', 'p', 'v':
			return '1'
		case 'c', 'g', 'j', 'k', 'q', 's', 'x', 'z':
			return '2'
		case 'd', 't':
			return '3'
		case 'l':
			return '4'
		case 'm', 'n':
			return '5'
		case 'r':
			return '6'
		case 'h', 'w':
			return 'h' // h and w do not separate equal codes
		}
		return 0 // vowels and y separate equal codes
	}
	out := make([]byte, 0, 4)
	var last byte
	for i := 0; i < len(s) && len(out) < 4; i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c < 'a' || c > 'z' {
			continue
		}
		k := code(c)
		if len(out) == 0 {
			out = append(out, c-'a'+'A')
			last = k
			continue
		}
		switch k {
		case 'h':
			continue
		case 0:
			last = 0
		default:
			if k != last {
				out = append(out, k)
			}
			last = k
		}
	}
	if len(out) == 0 {
		return ""
	}
	for len(out) < 4 {
		out = append(out, '0')
	}
	return string(out)
}

// oneEdit reports whether a and b differ by exactly one substituted, inserted or deleted byte, or
// by one swap of adjacent bytes.
func oneEdit(a, b string) bool { return chart.EditsString(a, b, 1, true) == 1 }
