package ocr

import (
	"fmt"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	if err := EnsureThreadLimit(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}
