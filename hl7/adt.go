package hl7

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"paperchart/audit"
	"paperchart/patients"
)

// MergeSource is the source patients.Index.Merge records for an A40.
const MergeSource = "hl7:A40"

// ADT applies ADT messages to the patient index and answers each with an
// ACK; it is the MessageHandler of a Server. A01 (admit), A04 (register),
// A08 (update), A28 (add person) and A31 (update person) add the patient of
// PID-3 or update its record: fields the message leaves empty keep their
// value, fields sent as "" are erased. A40 (merge) retires the patient of
// MRG-1 into the one of PID-3 (created from the PID when new) for each
// PID-MRG pair, which moves the retired patient's documents. A message
// applied twice changes nothing the second time and is answered AA again.
//
// With Audit set, every patient record a message creates, changes or
// merges is written to the audit trail (patient.create, patient.update,
// patient.merge) in the change's own transaction, by patient ID: a change
// is never made without its entry. The actor is "hl7:" and the sending
// application (MSH-3), the remote the connection's address.
type ADT struct {
	Index       *patients.Index
	Audit       *audit.Log // nil: no audit entries
	Identifiers Identifiers
	// Self is MSH-3 and MSH-4 of the ACKs to messages that name no
	// receiving application or facility.
	Self Endpoint
	Log  *slog.Logger // nil discards; IDs and field positions only
}

// outcome is what applying a message did, for its ACK and the log.
type outcome struct {
	code  string // AckAccept, AckError or AckReject
	err   *Error // why, for AE and AR; for AA, a note for MSA-3 or nil
	attrs []any  // for the log: IDs, never patient data
}

func accepted(attrs ...any) outcome { return outcome{code: AckAccept, attrs: attrs} }

func refused(code string, e *Error, attrs ...any) outcome {
	return outcome{code: code, err: e, attrs: attrs}
}

// internal answers AR for a failure on this side, which the sender may
// retry; err is logged, not sent.
func internal(err error, attrs ...any) outcome {
	return outcome{code: AckReject, err: &Error{Code: CodeInternal,
		Reason: "paperchart could not apply the message (internal error): send it again later"},
		attrs: append(attrs, "err", err)}
}

// trail writes one message's changes to the audit trail.
type trail struct {
	log    *audit.Log // nil: nothing is written
	actor  string     // "hl7:" and MSH-3
	remote string
	msg    string // "ADT^A04 control M1"
}

// trail is where the changes of m go: h.Audit, under the sending
// application's name and the connection's address. A failure to write it
// rolls the change back and answers AR, so that the sender sends it again.
func (h *ADT) trail(ctx context.Context, m *Message, typ, event string) trail {
	app := strings.Map(func(r rune) rune {
		if r < 128 && (isAlnum(byte(r)) || strings.ContainsRune("_-.", r)) {
			return r
		}
		return -1
	}, m.Header().Field(3).Component(1).String())
	if app = app[:min(len(app), 40)]; app == "" {
		app = "unnamed"
	}
	return trail{log: h.Audit, actor: "hl7:" + app, remote: Remote(ctx),
		msg: fmt.Sprintf("%s control %s", typeName(typ, event), logID(m.ControlID()))}
}

// upserted records the patient record an upsert created or changed.
func (t trail) upserted(ctx context.Context, tx pgx.Tx, res patients.UpsertResult) error {
	if !res.Created && !res.Updated {
		return nil
	}
	action := audit.ActionPatientUpdate
	if res.Created {
		action = audit.ActionPatientCreate
	}
	_, err := t.log.RecordTx(ctx, tx, audit.Entry{Actor: t.actor, Action: action, Resource: fmt.Sprintf("Patient/%d", res.ID),
		PatientID: &res.ID, Remote: t.remote, Outcome: audit.OutcomeOK, Detail: t.msg})
	return err
}

// merged records a merge: the retired record is the resource, the survivor
// the patient.
func (t trail) merged(ctx context.Context, tx pgx.Tx, retiredID, survivingID int64) error {
	_, err := t.log.RecordTx(ctx, tx, audit.Entry{Actor: t.actor, Action: audit.ActionPatientMerge,
		Resource: fmt.Sprintf("Patient/%d", retiredID), PatientID: &survivingID, Remote: t.remote, Outcome: audit.OutcomeOK,
		Detail: fmt.Sprintf("Patient/%d merged into Patient/%d (%s)", retiredID, survivingID, t.msg)})
	return err
}

// upsertHooks and mergeHooks are the hooks that write t, none without a
// trail.
func (t trail) upsertHooks() []patients.UpsertHook {
	if t.log == nil {
		return nil
	}
	return []patients.UpsertHook{t.upserted}
}

func (t trail) mergeHooks() []patients.MergeHook {
	if t.log == nil {
		return nil
	}
	return []patients.MergeHook{t.merged}
}

// HandleMessage parses msg, applies it and returns the ACK.
func (h *ADT) HandleMessage(ctx context.Context, msg []byte) []byte {
	log := h.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := time.Now()
	m, err := Parse(msg)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Code: CodeInternal, Reason: "the message could not be read"}
		}
		hdr, _ := parse(headerOnly(msg))
		attrs := []any{"ack", AckError, "reason", e.Reason}
		if hdr != nil {
			attrs = append(attrs, "control_id", logID(hdr.Header().Field(10).String()))
		}
		log.Warn("hl7 message refused", attrs...)
		return ack(hdr, AckError, e, h.Self, now)
	}
	typ, event, _ := m.Type()
	if event == "" {
		if evn, ok := m.Segment("EVN"); ok {
			event = evn.Field(1).String()
		}
	}
	o := h.apply(ctx, m, typ, event, now)
	attrs := append([]any{"control_id", logID(m.ControlID()), "type", typeName(typ, event), "ack", o.code}, o.attrs...)
	switch {
	case o.code == AckAccept:
		log.Info("hl7 message applied", attrs...)
	case o.err != nil && o.err.Code == CodeInternal:
		log.Error("hl7 message failed", append(attrs, "reason", o.err.Reason)...)
	default:
		log.Warn("hl7 message refused", append(attrs, "reason", o.err.Reason)...)
	}
	return ack(m, o.code, o.err, h.Self, now)
}

// logID returns a control ID for the log: the sender's identifier of a
// message, cut to MSH-10's 20 characters (50 in later versions) in case a
// sender puts something else there.
func logID(s string) string {
	if len(s) > 50 {
		return strings.ToValidUTF8(s[:50], "") + "..."
	}
	return s
}

// supportedVersion reports whether MSH-12 is 2.3 or later in version 2.
func supportedVersion(v string) bool {
	rest, ok := strings.CutPrefix(v, "2.")
	if !ok {
		return false
	}
	minor, _, _ := strings.Cut(rest, ".")
	n, err := strconv.Atoi(minor)
	return err == nil && n >= 3
}

func (h *ADT) apply(ctx context.Context, m *Message, typ, event string, now time.Time) outcome {
	if v := m.Version(); !supportedVersion(v) {
		return refused(AckReject, errorf("MSH", 12, CodeUnsupportedVersion, "HL7 version %q is not supported: 2.3 to 2.5.1 are", v[:min(len(v), 12)]))
	}
	if typ != "ADT" {
		return refused(AckReject, errorf("MSH", 9, CodeUnsupportedType, "unsupported message type %s", typeName(typ, event)))
	}
	t := h.trail(ctx, m, typ, event)
	switch event {
	case "A01", "A04", "A08", "A28", "A31":
		return h.update(ctx, m, t, now)
	case "A40":
		return h.merge(ctx, m, t, now)
	}
	return refused(AckReject, errorf("MSH", 9, CodeUnsupportedEvent, "unsupported message type %s", typeName(typ, event)))
}

// typeName writes a message type for an error text: letters and digits
// only, at most 7 characters each part, as message types are.
func typeName(typ, event string) string {
	clip := func(s string) string {
		s = strings.Map(func(r rune) rune {
			if r < 128 && isAlnum(byte(r)) || r == '_' {
				return r
			}
			return -1
		}, s)
		return s[:min(len(s), 7)]
	}
	if event == "" {
		return clip(typ)
	}
	return clip(typ) + "^" + clip(event)
}

// update adds or updates the patient of the message's PID.
func (h *ADT) update(ctx context.Context, m *Message, t trail, now time.Time) outcome {
	pid, ok := m.Segment("PID")
	if !ok {
		return refused(AckError, errorf("PID", 0, CodeSegmentSequence, "the PID segment is missing"))
	}
	f, e := h.Identifiers.readPID(pid, 1, now)
	if e != nil {
		return refused(AckError, e)
	}
	res, o := h.upsert(ctx, f, 1, t)
	if o != nil {
		return *o
	}
	return accepted("patient_id", res.ID, "result", result(res))
}

func result(r patients.UpsertResult) string {
	switch {
	case r.Created:
		return "created"
	case r.Updated:
		return "updated"
	}
	return "unchanged"
}

// upsert applies a PID's fields to the index; seq is the PID's place in
// the message, for errors.
func (h *ADT) upsert(ctx context.Context, f pidFields, seq int, t trail) (patients.UpsertResult, *outcome) {
	cur, err := h.Index.ByMRN(ctx, f.ref.Authority, f.ref.MRN)
	switch {
	case errors.Is(err, patients.ErrNotFound):
		if !f.name {
			o := refused(AckError, &Error{Segment: "PID", Seq: seq, Field: 5, Code: CodeRequiredMissing,
				Reason: "PID-5 patient name is required for a patient not yet in the index"})
			return patients.UpsertResult{}, &o
		}
		cur = patients.Patient{}
	case err != nil:
		o := internal(err)
		return patients.UpsertResult{}, &o
	}
	res, err := h.Index.Upsert(ctx, f.apply(cur), t.upsertHooks()...)
	if errors.Is(err, patients.ErrInvalidPatient) {
		_, why, _ := strings.Cut(err.Error(), patients.ErrInvalidPatient.Error()+": ")
		o := refused(AckError, &Error{Segment: "PID", Seq: seq, Code: CodeDataType,
			Reason: "PID: " + why})
		return patients.UpsertResult{}, &o
	}
	if err != nil {
		o := internal(err)
		return patients.UpsertResult{}, &o
	}
	return res, nil
}

// merge applies an A40: each PID is followed by the MRG of the record to
// retire into it.
func (h *ADT) merge(ctx context.Context, m *Message, t trail, now time.Time) outcome {
	type pair struct {
		pid, mrg Segment
		hasMRG   bool
	}
	var pairs []pair
	for _, s := range m.Segments {
		switch {
		case s.Name == "PID":
			pairs = append(pairs, pair{pid: s})
		case s.Name == "MRG" && len(pairs) > 0 && !pairs[len(pairs)-1].hasMRG:
			pairs[len(pairs)-1].mrg, pairs[len(pairs)-1].hasMRG = s, true
		}
	}
	if len(pairs) == 0 {
		return refused(AckError, errorf("PID", 0, CodeSegmentSequence, "the PID segment is missing"))
	}
	var attrs []any
	var notes []string
	for i, p := range pairs {
		seq := i + 1
		if !p.hasMRG {
			return refused(AckError, &Error{Segment: "MRG", Seq: seq, Code: CodeSegmentSequence,
				Reason: fmt.Sprintf("the MRG segment after PID %d is missing", seq)}, attrs...)
		}
		f, e := h.Identifiers.readPID(p.pid, seq, now)
		if e != nil {
			return refused(AckError, e, attrs...)
		}
		retired, e := h.Identifiers.mrn(p.mrg.Field(1), "MRG", 1)
		if e != nil {
			e.Seq = seq
			return refused(AckError, e, attrs...)
		}
		if retired == f.ref {
			return refused(AckError, &Error{Segment: "MRG", Seq: seq, Field: 1, Code: CodeDataType,
				Reason: "MRG-1 names the same patient as PID-3: nothing to merge"}, attrs...)
		}
		res, o := h.upsert(ctx, f, seq, t)
		if o != nil {
			o.attrs = append(attrs, o.attrs...)
			return *o
		}
		old, err := h.Index.ByMRN(ctx, retired.Authority, retired.MRN)
		if errors.Is(err, patients.ErrNotFound) {
			// Nothing filed to a record the index never had: the merge
			// is done as far as paperchart is concerned.
			notes = append(notes, fmt.Sprintf("MRG-1 of pair %d is not in the patient index: nothing to merge", seq))
			attrs = append(attrs, "surviving_id", res.ID, "retired", "not in the index")
			continue
		}
		if err != nil {
			return internal(err, attrs...)
		}
		err = h.Index.Merge(ctx, retired, f.ref, MergeSource, t.mergeHooks()...)
		var reason string
		switch {
		case err == nil:
			attrs = append(attrs, "retired_id", old.ID, "surviving_id", res.ID)
			continue
		case errors.Is(err, patients.ErrMergeSelf):
			reason = "MRG-1 and PID-3 are the same patient record: nothing to merge"
		case errors.Is(err, patients.ErrMergeCycle):
			reason = "the PID-3 patient was merged into the MRG-1 patient: a merge would be a cycle"
		case errors.Is(err, patients.ErrAlreadyMerged):
			reason = "the MRG-1 patient was already merged into another patient"
		case errors.Is(err, patients.ErrSurvivorInactive):
			reason = "the PID-3 patient is inactive: it cannot receive a merge"
		case errors.Is(err, patients.ErrNotFound):
			reason = "MRG-1 or PID-3 patient is not in the patient index"
		default:
			return internal(err, append(attrs, "retired_id", old.ID, "surviving_id", res.ID)...)
		}
		return refused(AckError, &Error{Segment: "MRG", Seq: seq, Field: 1, Code: CodeUnknownKey, Reason: reason},
			append(attrs, "retired_id", old.ID, "surviving_id", res.ID)...)
	}
	o := accepted(attrs...)
	if len(notes) > 0 {
		o.err = &Error{Reason: strings.Join(notes, "; ")}
	}
	return o
}
