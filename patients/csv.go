package patients

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"paperchart/chart"
	"strings"
	"time"
)

// csvColumns are the columns Import reads; the first two are required.
var csvColumns = []string{"mrn", "family", "given", "birth_date", "sex", "address", "city", "postal_code", "phone"}

type csvSource struct {
	r    *csv.Reader
	col  [9]int // index of each of csvColumns in a row, -1 when absent
	ncol int
	opt  ImportOptions
	now  time.Time
}

func newCSVSource(r io.Reader, opt ImportOptions) (*csvSource, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked here, to reject the row rather than stop
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("import patients: read CSV header: %w", err)
	}
	s := &csvSource{r: cr, ncol: len(head), opt: opt, now: time.Now()}
	for i := range s.col {
		s.col[i] = -1
	}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(h))
		for j, name := range csvColumns {
			if h == name && s.col[j] < 0 {
				s.col[j] = i
			}
		}
	}
	if s.col[0] < 0 || s.col[1] < 0 {
		return nil, errors.New("import patients: the CSV header must name the columns mrn and family " +
			"(expected mrn,family,given,birth_date,sex,address,city,postal_code,phone)")
	}
	return s, nil
}

func (s *csvSource) ignored() int { return 0 }

func (s *csvSource) next() (record, *Rejection, error) {
	row, err := s.r.Read()
	if errors.Is(err, io.EOF) {
		return record{}, nil, io.EOF
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		// The message names the problem (a stray quote), not the text.
		return record{}, &Rejection{Line: pe.StartLine, Reason: "is not valid CSV: " + pe.Err.Error()}, nil
	}
	if err != nil {
		return record{}, nil, fmt.Errorf("read CSV: %w", err)
	}
	line, _ := s.r.FieldPos(0)
	if len(row) != s.ncol {
		return record{}, &Rejection{Line: line, Reason: fmt.Sprintf("has %d fields, the header has %d", len(row), s.ncol)}, nil
	}
	get := func(i int) string {
		if s.col[i] < 0 {
			return ""
		}
		return row[s.col[i]]
	}
	rec := record{
		pos: line, authority: s.opt.Authority, mrn: get(0), family: get(1), given: get(2),
		address: get(5), city: get(6), postal: get(7), tel: get(8), active: true,
	}
	if d := strings.TrimSpace(get(3)); d != "" {
		if rec.birth, err = chart.ParseDate(d); err != nil {
			return record{}, &Rejection{Line: line, Reason: "birth_date is not a date (use YYYY-MM-DD, YYYYMMDD or MM/DD/YYYY)"}, nil
		}
	}
	var ok bool
	if rec.sex, ok = parseSex(get(4)); !ok {
		return record{}, &Rejection{Line: line, Reason: "sex is not one of male, female, other, unknown (or m, f, o, u)"}, nil
	}
	if why := rec.check(s.now); why != "" {
		return record{}, &Rejection{Line: line, Reason: why}, nil
	}
	return rec, nil, nil
}
