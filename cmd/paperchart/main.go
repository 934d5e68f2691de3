// Command paperchart turns scanned paper medical records into indexed
// electronic documents. One binary holds every role; each role can run alone
// so that workers scale out over more machines. Run `paperchart help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"paperchart/ocr"
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout io.Writer) error
}

func commands() map[string]command {
	return map[string]command{
		"all":        {"run every role in one process: watch, worker, serve (the single-machine default)", runAll},
		"watch":      {"watch the drop folders and ingest what is dropped", runWatch},
		"worker":     {"process queued work: split, OCR, assemble, file documents (run one per machine)", runWorker},
		"serve":      {"serve the HTTP API", runServe},
		"migrate":    {"create or update the database schema and the bucket", runMigrate},
		"rebuild":    {"recreate batches, pages and documents from the bucket's manifests into an empty database", runRebuild},
		"batches":    {"list batches, show one, or retry a failed one", runBatches},
		"gen":        {"generate a synthetic scanned batch (tests, demo, benchmarks)", runGen},
		"bench":      {"measure pages per minute of the pipeline against the tesseract CLI", runBench},
		"documents":  {"list documents (filed, waiting for review), show one with its decisions, or move a filed one", runDocuments},
		"eval":       {"run the pipeline on a generated held-out corpus and score separation, types, filing", runEval},
		"classify":   {"train the document type classifier, or classify a text file", runClassify},
		"coversheet": {"print a cover sheet (for a patient) or a separator sheet", runCoversheet},
		"audit":      {"the audit trail: verify its hash chain, list who saw a patient's documents", runAudit},
		"tokens":     {"bearer tokens for the EHR's FHIR access: create, list, revoke", runTokens},
		"hl7":        {"HL7 v2 over MLLP: ADT into the patient index, MDM^T02 for filed documents", runHL7},
		"users":      {"who may sign in to the web pages: add, list, passwd, role, disable, enable", runUsers},
		"patients":   {"the patient index: import CSV or FHIR, show, merge, search", runPatients},
		"release":    {"release of information: list requests, show one, fetch a released packet", runRelease},
		"search":     {"search the OCR text of filed documents (words, \"phrases\"; by patient, type, date, batch)", runSearch},
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "paperchart turns scanned paper medical records into indexed documents.\n\nUsage:\n  paperchart COMMAND [flags]\n\nCommands:\n")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintf(w, "\nRun `paperchart COMMAND --help` for a command's flags. Every flag can also be set by the\nPAPERCHART_* environment variable named in its help. Defaults point at services on loopback.\n")
}

func main() {
	// Tesseract must start with OpenMP limited to one thread; the variable
	// is read when the library loads, so set it by re-executing.
	if err := ocr.EnsureThreadLimit(); err != nil {
		fmt.Fprintln(os.Stderr, "paperchart:", err)
		os.Exit(1)
	}
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	name, args := os.Args[1], os.Args[2:]
	switch name {
	case "help", "-h", "-help", "--help":
		usage(os.Stdout)
		return
	}
	cmd, ok := commands()[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "paperchart: unknown command %q\n\n", name)
		usage(os.Stderr)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.run(ctx, args, os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintf(os.Stderr, "paperchart %s: %v\n", name, err)
		os.Exit(1)
	}
}

// newFlags returns a flag set whose usage names the command.
func newFlags(name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: paperchart %s %s\n\n%s\n\nFlags:\n", name, synopsis, about)
		fs.PrintDefaults()
	}
	return fs
}
