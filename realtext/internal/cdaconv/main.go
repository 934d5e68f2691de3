// Command cdaconv converts the sample clinical documents of HL7's C-CDA
// Examples (github.com/HL7/C-CDA-Examples, CC0 1.0) into realtext's
// layout: OUT/{train,heldout}/TYPE/ccda-NAME.txt, one document a file.
//
// It is a maintenance script, not part of the paperchart binary:
//
//	git --git-dir=PATH/C-CDA-Examples.git archive HEAD Documents | tar -x -C /tmp/ccda
//	go run ./realtext/internal/cdaconv -src /tmp/ccda/Documents -out realtext
//
// What it does (see realtext/README.md):
//   - reads the documents whose C-CDA document type is one of
//     paperchart's (documents below); the type comes from the folder, which
//     names the C-CDA document template;
//   - writes what a printed copy shows of the document's body: its title,
//     then each section's title and its narrative block (paragraphs, lists
//     and table rows as lines, table cells separated by two spaces). The
//     header (patient, author, custodian: fictional people and places) and
//     the coded entries are left out, so no name or date of birth is
//     copied;
//   - the split: a document is held out when FNV-1a-32("ccda/" + folder)
//     mod 100 < 30.
package main

import (
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// documents maps a folder of C-CDA-Examples/Documents to its paperchart
// type. The Procedure Note (a bedside procedure, not an operation),
// the Transfer Summary, the Care Plan and the CCDs (record summaries) have
// no paperchart type of their own and are not used.
var documents = map[string]string{
	"Consultation Note":         "consult-note",
	"Diagnostic Imaging Report": "imaging-report",
	"Discharge Summary":         "discharge-summary",
	"History and Physical":      "history-physical",
	"Operative Note":            "operative-report",
	"Progress Note":             "progress-note",
	"Referral Note":             "referral-letter",
}

func main() {
	src := flag.String("src", "", "the Documents folder of C-CDA-Examples")
	out := flag.String("out", "realtext", "realtext folder to write train/ and heldout/ under")
	flag.Parse()
	if err := run(*src, *out); err != nil {
		slog.Error("cdaconv failed", "err", err)
		os.Exit(1)
	}
}

func run(src, out string) error {
	if src == "" {
		return errors.New("cdaconv: -src is required")
	}
	for folder, typ := range documents {
		files, err := filepath.Glob(filepath.Join(src, folder, "*.xml"))
		if err != nil || len(files) != 1 {
			return fmt.Errorf("cdaconv: want one XML file in %s, found %d: %v", folder, len(files), err)
		}
		f, err := os.Open(files[0])
		if err != nil {
			return fmt.Errorf("cdaconv: %w", err)
		}
		text, err := narrative(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("cdaconv: %s: %w", folder, err)
		}
		h := fnv.New32a()
		h.Write([]byte("ccda/" + folder))
		split := "train"
		if h.Sum32()%100 < 30 {
			split = "heldout"
		}
		dir := filepath.Join(out, split, typ)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("cdaconv: %w", err)
		}
		name := "ccda-" + strings.ToLower(strings.ReplaceAll(folder, " ", "-")) + ".txt"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return fmt.Errorf("cdaconv: write document: %w", err)
		}
		slog.Info("cdaconv wrote", "type", typ, "split", split, "file", name)
	}
	return nil
}

var (
	spaces     = regexp.MustCompile(`[ \t\r\f\v]+`)
	blankLines = regexp.MustCompile(`\n{3,}`)
)

// blockEnd are the narrative elements after which a line ends.
var blockEnd = map[string]bool{"paragraph": true, "item": true, "tr": true, "br": true, "caption": true, "list": true, "table": true, "thead": true, "tbody": true}

// narrative returns the document title and the sections' titles and
// narrative blocks of a C-CDA document as plain text.
func narrative(r io.Reader) (string, error) {
	d := xml.NewDecoder(r)
	var stack []string
	var b strings.Builder
	inBody := false
	textDepth := 0 // >0 inside a section's narrative <text>
	titleDepth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("parse: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			parent := ""
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			stack = append(stack, name)
			switch {
			case name == "structuredBody":
				inBody = true
			case name == "title" && (parent == "ClinicalDocument" || parent == "section" && inBody):
				titleDepth = len(stack)
				b.WriteString("\n\n")
			case name == "text" && parent == "section" && inBody:
				textDepth = len(stack)
				b.WriteString("\n")
			}
		case xml.EndElement:
			name := t.Name.Local
			if textDepth > 0 {
				switch {
				case len(stack) == textDepth:
					textDepth = 0
					b.WriteString("\n")
				case name == "td" || name == "th":
					b.WriteString("  ")
				case blockEnd[name]:
					b.WriteString("\n")
				}
			}
			if titleDepth > 0 && len(stack) == titleDepth {
				titleDepth = 0
				b.WriteString("\n")
			}
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			if textDepth > 0 || titleDepth > 0 {
				b.WriteString(spaces.ReplaceAllString(strings.ReplaceAll(string(t), "\n", " "), " "))
			}
		}
	}
	var lines []string
	for _, l := range strings.Split(b.String(), "\n") {
		lines = append(lines, strings.TrimSpace(l))
	}
	text := blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n")
	return strings.TrimSpace(text) + "\n", nil
}
