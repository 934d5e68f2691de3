package api_test

import (
	"errors"
	"fmt"
	"testing"

	"paperchart/chart"
	"paperchart/patients"
	"paperchart/storage"
	"paperchart/tokens"
	"paperchart/users"
)

// TestOneNotFound holds every package's "no such thing" to the one kind the
// HTTP layers map to 404, while each still tells its own from the others'
// (a patient not found where a document was found is not a missing
// document).
func TestOneNotFound(t *testing.T) {
	kinds := []struct {
		name string
		err  error
	}{
		{"storage", storage.ErrNotFound},
		{"patients", patients.ErrNotFound},
		{"users", users.ErrNotFound},
		{"tokens", tokens.ErrNotFound},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			wrapped := fmt.Errorf("read thing 12: %w", k.err)
			if !errors.Is(wrapped, chart.ErrNotFound) {
				t.Fatalf("%v is not chart.ErrNotFound", wrapped)
			}
			if !errors.Is(wrapped, k.err) {
				t.Fatalf("%v is not %s.ErrNotFound", wrapped, k.name)
			}
			for _, o := range kinds {
				if o.name != k.name && errors.Is(wrapped, o.err) {
					t.Errorf("%s's not found reads as %s's", k.name, o.name)
				}
			}
		})
	}
}
