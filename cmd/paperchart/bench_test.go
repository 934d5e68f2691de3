package main

import (
	"testing"

	"paperchart/scangen"
)

func TestBenchOptionsRealistic(t *testing.T) {
	dpis := map[int]bool{}
	sheets := 0
	for i := range len(benchProfiles) {
		o := benchOptions(i, 12, uint64(i), false, true)
		dpis[o.DPI] = true
		if o.JPEGQuality < 55 || o.JPEGQuality > 85 {
			t.Errorf("batch %d: JPEG quality %d outside 55-85", i, o.JPEGQuality)
		}
		if o.MaxSkew != 1.8 || o.Bilevel <= 0 || o.RotateProb <= 0 || o.BlankProb <= 0 || o.Clean {
			t.Errorf("batch %d: not degraded like a real scan: %+v", i, o)
		}
		if o.Sheets != scangen.SheetsNone {
			sheets++
			if o.SheetPrinter == nil {
				t.Errorf("batch %d: sheets without a printer", i)
			}
		}
		if n := benchOptions(i, 12, uint64(i), false, false); n.Sheets != scangen.SheetsNone {
			t.Errorf("batch %d: sheets with sheets off", i)
		}
	}
	if !dpis[200] || !dpis[300] || len(dpis) != 2 {
		t.Errorf("resolutions %v, want 200 and 300", dpis)
	}
	if sheets != len(benchProfiles)/3 {
		t.Errorf("%d of %d batches with sheets, want every third", sheets, len(benchProfiles))
	}
	if c := benchOptions(0, 5, 1, true, true); !c.Clean || c.DPI != 300 || c.Sheets != scangen.SheetsNone {
		t.Errorf("clean options %+v", c)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{1.2, 0.8, 1.0}, 1.0},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		rs := make([]benchRound, len(tc.in))
		for i, v := range tc.in {
			rs[i].WallRatio = v
		}
		if got := median(rs, func(r benchRound) float64 { return r.WallRatio }); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
