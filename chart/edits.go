package chart

// Edits is the one edit distance: the fewest insertions, deletions and
// substitutions (and, with transpose, swaps of two neighbours: optimal
// string alignment) that turn a into b. It stops as soon as the distance
// must exceed limit and then returns limit+1; a negative limit means none.
func Edits[E comparable](a, b []E, limit int, transpose bool) int {
	if limit >= 0 {
		if d := len(a) - len(b); d > limit || -d > limit {
			return limit + 1
		}
	}
	m := len(b)
	prev2 := make([]int, m+1)
	prev := make([]int, m+1)
	cur := make([]int, m+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := i
		for j := 1; j <= m; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if transpose && i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if limit >= 0 && rowMin > limit && !transpose {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	if limit >= 0 && prev[m] > limit {
		return limit + 1
	}
	return prev[m]
}

// EditsString is Edits over the bytes of two strings.
func EditsString(a, b string, limit int, transpose bool) int {
	return Edits([]byte(a), []byte(b), limit, transpose)
}
