package hl7_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"paperchart/filing"
	"paperchart/filing/filingtest"
	"paperchart/hl7"
	"paperchart/internal/testenv"
	"paperchart/storage"
)

// TestMovedDocumentMessages moves a filed document to another patient and
// type and checks what the EHR hears, parsing each message as received: the
// T02 of the old placement, the T11 that cancels it (PID of the old
// patient), then the T02 of the new document (PID of the new patient) —
// in that order even when the EHR refuses the T11 once; and nothing of the
// old placement when it had not been sent before the move.
func TestMovedDocumentMessages(t *testing.T) {
	type want struct{ event, mrn, doc string }
	tests := []struct {
		name       string
		sentBefore bool // the old placement's T02 reached the EHR before the move
		refuseT11  bool // the EHR answers the first T11 AE
		want       func(old, moved int64) []want
		skipped    int // outbox rows skipped
	}{
		{"announced, then moved", true, false, func(old, moved int64) []want {
			return []want{{"T02", "00410001", fmt.Sprint(old)}, {"T11", "00410001", fmt.Sprint(old)}, {"T02", "00410002", fmt.Sprint(moved)}}
		}, 0},
		{"T11 refused once: the new T02 waits", true, true, func(old, moved int64) []want {
			return []want{{"T02", "00410001", fmt.Sprint(old)}, {"T11", "00410001", fmt.Sprint(old)}, {"T11", "00410001", fmt.Sprint(old)},
				{"T02", "00410002", fmt.Sprint(moved)}}
		}, 0},
		{"moved before anything was sent", false, false, func(old, moved int64) []want {
			return []want{{"T02", "00410002", fmt.Sprint(moved)}}
		}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			log, lb := newLog(t)
			su := filingtest.New(t, log)
			db := su.DB
			id := filingtest.Batch(t, db, su.Objects, "move-"+testenv.Name(""), []filingtest.Page{{Text: filingtest.Discharge}})
			_, err := su.Filer.FileBatch(ctx, id)
			testenv.Must(t, err, "file")
			docs, err := db.BatchDocuments(ctx, id)
			testenv.Must(t, err, "documents")
			if len(docs) != 1 || docs[0].State != storage.DocFiled {
				t.Fatalf("fixture: %+v", docs)
			}
			old := docs[0].ID
			okafor, err := su.Index.ByMRN(ctx, "", "00410002")
			testenv.Must(t, err, "patient")

			var mu sync.Mutex
			refused := false
			ehr := newFakeEHR(t, func(n int, m *hl7.Message) string {
				mu.Lock()
				defer mu.Unlock()
				if _, ev, _ := m.Type(); ev == "T11" && tc.refuseT11 && !refused {
					refused = true
					return "AE"
				}
				return "AA"
			})
			s := &hl7.Sender{Outbox: hl7.NewOutbox(db.Pool()), Addr: ehr.addr, FHIRBase: "https://pc.example.org/fhir",
				Backoff: 300 * time.Millisecond, Poll: 20 * time.Millisecond, Log: log}
			if tc.sentBefore {
				stop := run(t, s)
				waitFor(t, "the first T02", func() bool { return len(ehr.messages()) == 1 })
				stop()
			}
			res, err := su.Filer.MoveFiled(ctx, old, filing.Move{Actor: "rob", PatientID: okafor.ID, Type: "lab-report", Reason: "wrong patient"})
			testenv.Must(t, err, "move")
			run(t, s)
			ws := tc.want(old, res.To.ID)
			waitFor(t, "the messages of the move", func() bool {
				var pending int
				testenv.Must(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM hl7_outbox WHERE state = 'pending'`).Scan(&pending), "pending")
				return pending == 0 && len(ehr.messages()) >= len(ws)
			})
			msgs := ehr.messages()
			if len(msgs) != len(ws) {
				t.Fatalf("the EHR got %d messages, want %d", len(msgs), len(ws))
			}
			for i, m := range msgs {
				code, event, structure := m.Type()
				pid, _ := m.Segment("PID")
				txa, _ := m.Segment("TXA")
				_, hasOBX := m.Segment("OBX")
				wantStructure, wantAvail := "MDM_T02", "AV"
				if ws[i].event == "T11" {
					wantStructure, wantAvail = "MDM_T01", "CA"
				}
				if code != "MDM" || event != ws[i].event || structure != wantStructure {
					t.Errorf("message %d: MSH-9 %s^%s^%s, want MDM^%s^%s", i+1, code, event, structure, ws[i].event, wantStructure)
				}
				if got := pid.Field(3).Component(1).String(); got != ws[i].mrn {
					t.Errorf("message %d (%s): PID-3 %q, want %s", i+1, event, got, ws[i].mrn)
				}
				if got := txa.Field(12).Component(1).String(); got != ws[i].doc {
					t.Errorf("message %d (%s): TXA-12 %q, want document %s", i+1, event, got, ws[i].doc)
				}
				if got := txa.Field(19).String(); got != wantAvail {
					t.Errorf("message %d (%s): TXA-19 %q, want %s", i+1, event, got, wantAvail)
				}
				if hasOBX != (event == "T02") {
					t.Errorf("message %d (%s): OBX present %v", i+1, event, hasOBX)
				}
			}
			if ws[len(ws)-1].event == "T02" {
				txa, _ := msgs[len(msgs)-1].Segment("TXA")
				if txa.Field(2).Component(1).String() != "11502-2" {
					t.Errorf("the new T02's TXA-2 %q, want the lab report's LOINC 11502-2", txa.Field(2).Raw())
				}
			}
			var skipped int
			testenv.Must(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM hl7_outbox WHERE state = 'skipped'`).Scan(&skipped), "skipped")
			if skipped != tc.skipped {
				t.Errorf("%d outbox rows skipped, want %d", skipped, tc.skipped)
			}
			noPatientData(t, lb.String(), "HARTMANN", "OKAFOR", "00410001", "00410002", "wrong patient")
		})
	}
}
