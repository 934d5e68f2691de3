package match

import (
	"math"
	"sort"
)

// LabelledScore is a scored pair whose truth is known.
type LabelledScore struct {
	Score float64 // weight (bits) or probability: anything where higher means more likely the same
	Match bool
}

// ChooseThreshold returns the lowest score t such that, for t and every higher score t' in the
// data, the pairs scoring at least t' have precision at least targetPrecision — so precision
// never dips below the target anywhere above the threshold — and the recall at t (share of all
// matches scoring at least t). When no threshold qualifies (the best-scored pair is a non-match)
// it returns +Inf and recall 0.
func ChooseThreshold(scored []LabelledScore, targetPrecision float64) (threshold, recallAtThreshold float64) {
	s := append([]LabelledScore(nil), scored...)
	sort.Slice(s, func(i, j int) bool { return s[i].Score > s[j].Score })
	total := 0
	for _, x := range s {
		if x.Match {
			total++
		}
	}
	threshold = math.Inf(1)
	tp, fp, best := 0, 0, 0
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j].Score == s[i].Score { // all pairs with this score go together
			if s[j].Match {
				tp++
			} else {
				fp++
			}
			j++
		}
		if float64(tp) < targetPrecision*float64(tp+fp) {
			break
		}
		threshold, best = s[i].Score, tp
		i = j
	}
	if total == 0 {
		return threshold, 0
	}
	return threshold, float64(best) / float64(total)
}

// PrecisionAt counts the pairs scoring at least threshold: true and false positives, and the
// precision and recall they give.
func PrecisionAt(scored []LabelledScore, threshold float64) (tp, fp int, precision, recall float64) {
	total := 0
	for _, x := range scored {
		if x.Match {
			total++
		}
		if x.Score >= threshold {
			if x.Match {
				tp++
			} else {
				fp++
			}
		}
	}
	precision = 1
	if tp+fp > 0 {
		precision = float64(tp) / float64(tp+fp)
	}
	if total > 0 {
		recall = float64(tp) / float64(total)
	}
	return tp, fp, precision, recall
}

// PrecisionLowerBound is the one-sided Clopper–Pearson lower confidence bound on precision after
// observing errors false positives among n auto-filed pairs, at the given confidence (e.g. 0.95).
// With no errors it is (1-confidence)^(1/n): about 1 - 3/n at 95%, so showing 99.9% precision
// with 95% confidence takes about 3,000 error-free auto-files.
func PrecisionLowerBound(errors, n int, confidence float64) float64 {
	if n <= 0 {
		return 0
	}
	alpha := 1 - confidence
	// The upper bound p on the error rate solves P(X ≤ errors | n, p) = alpha; bisect.
	lo, hi := 0.0, 1.0
	for range 100 {
		mid := (lo + hi) / 2
		if binomCDF(errors, n, mid) > alpha {
			lo = mid
		} else {
			hi = mid
		}
	}
	return 1 - hi
}

// binomCDF is P(X ≤ k) for X ~ Binomial(n, p), summed in log space.
func binomCDF(k, n int, p float64) float64 {
	if p <= 0 {
		return 1
	}
	if p >= 1 {
		if k >= n {
			return 1
		}
		return 0
	}
	lp, lq := math.Log(p), math.Log1p(-p)
	sum := 0.0
	for i := 0; i <= k && i <= n; i++ {
		lg := lgamma(n+1) - lgamma(i+1) - lgamma(n-i+1)
		sum += math.Exp(lg + float64(i)*lp + float64(n-i)*lq)
	}
	return sum
}

func lgamma(x int) float64 {
	v, _ := math.Lgamma(float64(x))
	return v
}

// ReliabilityBin is one row of a reliability table: pairs whose predicted probability fell in
// [Lo, Hi), their mean prediction, and the share that were truly the same person.
type ReliabilityBin struct {
	Lo, Hi        float64
	Pairs         int
	Matches       int
	MeanPredicted float64
	ObservedShare float64
}

// Reliability bins predicted probabilities (the Score fields of scored must be probabilities)
// at the given edges (ascending, first 0, last 1; the last bin includes 1) and reports each
// bin's observed share of true matches. A calibrated model has ObservedShare ≈ MeanPredicted.
func Reliability(scored []LabelledScore, edges []float64) []ReliabilityBin {
	if len(edges) < 2 {
		return nil
	}
	bins := make([]ReliabilityBin, len(edges)-1)
	for i := range bins {
		bins[i].Lo, bins[i].Hi = edges[i], edges[i+1]
	}
	for _, x := range scored {
		i := sort.SearchFloat64s(edges, x.Score)
		// SearchFloat64s gives the first edge ≥ p; bin i-1 is [edges[i-1], edges[i]).
		if i < len(edges) && edges[i] == x.Score {
			i++
		}
		i--
		if i < 0 {
			i = 0
		}
		if i >= len(bins) {
			i = len(bins) - 1
		}
		b := &bins[i]
		b.Pairs++
		b.MeanPredicted += x.Score
		if x.Match {
			b.Matches++
		}
	}
	for i := range bins {
		if bins[i].Pairs > 0 {
			bins[i].MeanPredicted /= float64(bins[i].Pairs)
			bins[i].ObservedShare = float64(bins[i].Matches) / float64(bins[i].Pairs)
		}
	}
	return bins
}
