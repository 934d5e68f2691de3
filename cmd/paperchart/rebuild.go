package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"paperchart/audit"
	"paperchart/storage"
)

func runRebuild(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := newFlags("rebuild", "[--check] [--update] [flags]", "Recreates the database's batches, their history, pages, documents (decisions, history,\n"+
		"corrections) and the patients they name from the batch manifests in the bucket\n"+
		"(manifests/batches/<batch>.json), with their IDs, into a new, empty database: after the\n"+
		"database is lost, point --database-url at a new one and run this before any other role.\n"+
		"It migrates the schema first and refuses a database that holds batches, documents or patients,\n"+
		"unless --update: onto a database restored from a dump, it adds what the dump lacks and replaces\n"+
		"rows the manifests hold newer versions of, so the dump's users, tokens and audit trail are kept\n"+
		"and the documents come up to the last seconds.\n"+
		"Not in the bucket (a dump has them: restore it, then rebuild --update; README.md, Backups and\n"+
		"recovery): users, sessions, tokens, the audit trail, the HL7 and webhook outboxes, the patient\n"+
		"merges' log, and patients no document names (or re-import the patient index after the rebuild).")
	c.register(fs, useDB|useS3)
	check := fs.Bool("check", false, "read and insert everything, then roll back: prove the bucket rebuilds, change nothing")
	update := fs.Bool("update", false, "rebuild onto a database restored from a dump (documents filed since the dump are announced to the EHR)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := c.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	objs, err := c.openObjects(ctx)
	if err != nil {
		return err
	}
	if err := objs.Ping(ctx); err != nil {
		return err
	}
	sum, err := db.Rebuild(ctx, objs, storage.RebuildOptions{Check: *check, Update: *update})
	if err != nil {
		return err
	}
	verb := "rebuilt"
	if *update {
		verb = "brought up to date"
	}
	if *check {
		verb = "checked (nothing written)"
	}
	fmt.Fprintf(stdout, "%s from %d manifests in bucket %s: %d batches, %d pages, %d documents, %d patients, %d history entries, %d corrections\n",
		verb, sum.Manifests, c.S3Bucket, sum.Batches, sum.Pages, sum.Documents, sum.Patients, sum.Events, sum.Corrections)
	if sum.Unsettled > 0 {
		fmt.Fprintf(stdout, "%d batches were not processed yet when their manifest was written: the worker's reconciler processes them again\n", sum.Unsettled)
	}
	if len(sum.Orphans) > 0 {
		fmt.Fprintf(stdout, "%d originals have no batch (taken in, then lost before their batch was written); drop them again:\n", len(sum.Orphans))
		for _, k := range sum.Orphans {
			fmt.Fprintf(stdout, "  %s\n", k)
		}
	}
	if *check {
		return nil
	}
	_, err = audit.New(db.Pool()).Record(ctx, audit.Entry{Actor: cliActor(), Action: "db.rebuild", Outcome: audit.OutcomeOK,
		Detail: fmt.Sprintf("%s: %d batches, %d documents from %d manifests", verb, sum.Batches, sum.Documents, sum.Manifests)})
	if err != nil {
		return errors.Join(errors.New("rebuilt, but the audit entry of the rebuild was not written"), err)
	}
	if *update {
		fmt.Fprintln(stdout, "next: start paperchart")
		return nil
	}
	fmt.Fprintln(stdout, "next: re-import the patient index (paperchart patients import), restore users and tokens (README.md, Backups), start paperchart")
	return nil
}
