package classify

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// ReadDir reads labelled documents laid out as DIR/TYPE/*.txt, one
// document a file, TYPE a type code (see Types); each gets Source source.
// A folder under DIR that is not a type code is an error (a misspelt type
// would otherwise be skipped silently). Files are read in name order.
func ReadDir(ctx context.Context, dir, source string) ([]Labelled, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("classify: read labelled folder: %w", err)
	}
	for _, e := range entries {
		if _, ok := Lookup(e.Name()); e.IsDir() && !ok {
			return nil, fmt.Errorf("classify: folder %s is not a type code (see classify.Types)", filepath.Join(dir, e.Name()))
		}
	}
	var docs []Labelled
	for _, t := range types {
		files, err := filepath.Glob(filepath.Join(dir, t.Code, "*.txt"))
		if err != nil {
			return nil, fmt.Errorf("classify: read labelled folder: %w", err)
		}
		sort.Strings(files)
		for _, f := range files {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("classify: read labelled document: %w", err)
			}
			docs = append(docs, Labelled{Type: t.Code, Text: string(b), Source: source})
		}
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("classify: no .txt files in type folders under %s", dir)
	}
	return docs, nil
}
