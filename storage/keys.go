package storage

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// This file builds every object key paperchart writes, and parses them
// back. Nothing else spells a key: the stages, the tests and the tools call
// these functions.
//
//	originals/<sha256>                          OriginalKey
//	pages/<batch>/<page:04>.src<ext>            PageSourceKey (as split left it)
//	pages/<batch>/<page:04>.jpg                 PageImageKey (normalised, as OCR'd)
//	pages/<batch>/<page:04>.ocr.json            PageOCRKey
//	searchable/<batch>.pdf                      SearchableKey
//	documents/batches/<batch>/<seq>.pdf         ReviewDocumentKey
//	documents/batches/<batch>/edit-<ns>.pdf     EditedDocumentKey
//	documents/patients/<patient>/<batch>-<seq>.pdf  PatientDocumentKey
//	audit/anchors/<entry:020>-<hash>.json       AuditAnchorKey
//	manifests/batches/<batch>.json              ManifestKey (Manifest, EncodeManifest, DecodeManifest)
//	releases/<request>/packet.pdf               ReleasePacketKey

// Object key prefixes. Originals are written once and, where the server
// supports object lock, kept under retention; everything else is derived
// from them and may be rewritten by a re-run.
const (
	PrefixOriginals  = "originals/"
	PrefixPages      = "pages/"
	PrefixSearchable = "searchable/"
	PrefixDocuments  = "documents/"
	// PrefixAuditAnchors holds the audit chain's anchors, written once
	// each and kept under retention where the bucket has object lock.
	PrefixAuditAnchors = "audit/anchors/"
	// PrefixManifests holds each batch's manifest: its rows, from which
	// `paperchart rebuild` recreates the database (manifest.go).
	PrefixManifests = "manifests/batches/"
	// PrefixReleases holds the packets of released requests (release of
	// information): one PDF per request, written once when it is released.
	PrefixReleases = "releases/"
)

// KeyKind says what an object key holds.
type KeyKind string

// The kinds of object key.
const (
	KeyOriginal        KeyKind = "original"
	KeyPageSource      KeyKind = "page source"
	KeyPageImage       KeyKind = "page image"
	KeyPageOCR         KeyKind = "page OCR result"
	KeySearchable      KeyKind = "searchable PDF"
	KeyReviewDocument  KeyKind = "document in review"
	KeyEditedDocument  KeyKind = "edited document"
	KeyPatientDocument KeyKind = "filed document"
	KeyAuditAnchor     KeyKind = "audit chain anchor"
	KeyManifest        KeyKind = "batch manifest"
	KeyReleasePacket   KeyKind = "release packet"
)

// Key is an object key taken apart: its kind and the fields that kind has
// (the others are zero).
type Key struct {
	Kind    KeyKind
	SHA256  string // KeyOriginal; KeyAuditAnchor: the entry's hash
	Batch   int64  // every kind but KeyOriginal and KeyAuditAnchor
	Page    int    // KeyPageSource, KeyPageImage, KeyPageOCR
	Ext     string // KeyPageSource: the source file's extension with its dot (".pdf"), or ""
	Seq     int    // KeyReviewDocument, KeyPatientDocument
	Patient int64  // KeyPatientDocument
	Edit    int64  // KeyEditedDocument: the time of the edit, Unix nanoseconds
	Entry   int64  // KeyAuditAnchor: the audit entry's ID
	Request int64  // KeyReleasePacket: the release request's ID
}

// String builds the key.
func (k Key) String() string {
	switch k.Kind {
	case KeyOriginal:
		return PrefixOriginals + k.SHA256
	case KeyPageSource:
		return fmt.Sprintf("%s%d/%04d.src%s", PrefixPages, k.Batch, k.Page, k.Ext)
	case KeyPageImage:
		return fmt.Sprintf("%s%d/%04d.jpg", PrefixPages, k.Batch, k.Page)
	case KeyPageOCR:
		return fmt.Sprintf("%s%d/%04d.ocr.json", PrefixPages, k.Batch, k.Page)
	case KeySearchable:
		return fmt.Sprintf("%s%d.pdf", PrefixSearchable, k.Batch)
	case KeyReviewDocument:
		return fmt.Sprintf("%sbatches/%d/%d.pdf", PrefixDocuments, k.Batch, k.Seq)
	case KeyEditedDocument:
		return fmt.Sprintf("%sbatches/%d/edit-%d.pdf", PrefixDocuments, k.Batch, k.Edit)
	case KeyPatientDocument:
		return fmt.Sprintf("%spatients/%d/%d-%d.pdf", PrefixDocuments, k.Patient, k.Batch, k.Seq)
	case KeyAuditAnchor:
		return fmt.Sprintf("%s%020d-%s.json", PrefixAuditAnchors, k.Entry, k.SHA256)
	case KeyManifest:
		return fmt.Sprintf("%s%d.json", PrefixManifests, k.Batch)
	case KeyReleasePacket:
		return fmt.Sprintf("%s%d/packet.pdf", PrefixReleases, k.Request)
	}
	return ""
}

// OriginalKey is where the original with the given SHA-256 is kept.
func OriginalKey(sha string) string { return Key{Kind: KeyOriginal, SHA256: sha}.String() }

// PageSourceKey is where split keeps a page's source (a one-page PDF, an
// image) as cut from the original; ext is the source file's extension with
// its dot.
func PageSourceKey(batch int64, page int, ext string) string {
	return Key{Kind: KeyPageSource, Batch: batch, Page: page, Ext: ext}.String()
}

// PageImageKey is where a page's normalised image (JPEG, as OCR read it) is
// kept.
func PageImageKey(batch int64, page int) string {
	return Key{Kind: KeyPageImage, Batch: batch, Page: page}.String()
}

// PageOCRKey is where a page's OCR result (ocr.Result as JSON) is kept.
func PageOCRKey(batch int64, page int) string {
	return Key{Kind: KeyPageOCR, Batch: batch, Page: page}.String()
}

// SearchableKey is where a batch's searchable PDF is kept.
func SearchableKey(batch int64) string { return Key{Kind: KeySearchable, Batch: batch}.String() }

// ReviewDocumentKey is where a document waiting for review is kept: under
// its batch.
func ReviewDocumentKey(batch int64, seq int) string {
	return Key{Kind: KeyReviewDocument, Batch: batch, Seq: seq}.String()
}

// EditedDocumentKey is where the PDF of a document a person re-cut (split,
// merged, pages moved) at the given time is kept: a new key each time, so
// that the earlier PDF stays as it was.
func EditedDocumentKey(batch int64, at time.Time) string {
	return Key{Kind: KeyEditedDocument, Batch: batch, Edit: at.UnixNano()}.String()
}

// PatientDocumentKey is where a filed document is kept: under its patient
// (as filed; a later merge re-points the row, not the object).
func PatientDocumentKey(patient, batch int64, seq int) string {
	return Key{Kind: KeyPatientDocument, Patient: patient, Batch: batch, Seq: seq}.String()
}

// AuditAnchorKey is where the anchor of the audit chain at the entry with
// the given ID and hash is kept. The key names both, zero-padded so that
// anchors list in entry order: an anchor is never overwritten, and a chain
// rewritten with another hash at the same entry gets another key, beside
// the first.
func AuditAnchorKey(entry int64, hash string) string {
	return Key{Kind: KeyAuditAnchor, Entry: entry, SHA256: hash}.String()
}

// ManifestKey is where a batch's manifest (Manifest as JSON, written by
// EncodeManifest, read by DecodeManifest) is kept: rewritten in place each
// time the batch's rows change, so a versioned bucket keeps its history.
func ManifestKey(batch int64) string { return Key{Kind: KeyManifest, Batch: batch}.String() }

// ReleasePacketKey is where the packet of a released request (package
// release: cover letter and every released page, stamped and redacted) is
// kept. One key per request: releasing again writes nothing new.
func ReleasePacketKey(request int64) string {
	return Key{Kind: KeyReleasePacket, Request: request}.String()
}

// ErrBadKey is returned by ParseKey for a key paperchart does not build.
var ErrBadKey = errors.New("not an object key paperchart builds")

// ParseKey takes apart a key built by this file's functions: ParseKey(k.String())
// gives k back.
func ParseKey(key string) (Key, error) {
	k, ok := parseKey(key)
	if !ok || k.String() != key {
		return Key{}, fmt.Errorf("object key %q: %w", key, ErrBadKey)
	}
	return k, nil
}

func parseKey(key string) (Key, bool) {
	if sha, ok := strings.CutPrefix(key, PrefixOriginals); ok {
		return Key{Kind: KeyOriginal, SHA256: sha}, sha != "" && !strings.Contains(sha, "/")
	}
	if rest, ok := strings.CutPrefix(key, PrefixSearchable); ok {
		b, ok := cutNumber(rest, ".pdf")
		return Key{Kind: KeySearchable, Batch: b}, ok
	}
	if rest, ok := strings.CutPrefix(key, PrefixPages); ok {
		b, file, ok := cutID(rest, "/")
		if !ok {
			return Key{}, false
		}
		// A source keeps its own extension after ".src" (".src.jpg"), so
		// it is told first.
		page, ext, isSource := strings.Cut(file, ".src")
		kind := KeyPageSource
		switch {
		case isSource:
		case strings.HasSuffix(file, ".ocr.json"):
			page, kind = strings.TrimSuffix(file, ".ocr.json"), KeyPageOCR
		case strings.HasSuffix(file, ".jpg"):
			page, kind = strings.TrimSuffix(file, ".jpg"), KeyPageImage
		default:
			return Key{}, false
		}
		n, err := strconv.Atoi(page)
		return Key{Kind: kind, Batch: b, Page: n, Ext: ext}, err == nil
	}
	if rest, ok := strings.CutPrefix(key, PrefixDocuments+"batches/"); ok {
		b, file, ok := cutID(rest, "/")
		if !ok {
			return Key{}, false
		}
		if edit, ok := strings.CutPrefix(file, "edit-"); ok {
			ns, ok := cutNumber(edit, ".pdf")
			return Key{Kind: KeyEditedDocument, Batch: b, Edit: ns}, ok
		}
		seq, ok := cutNumber(file, ".pdf")
		return Key{Kind: KeyReviewDocument, Batch: b, Seq: int(seq)}, ok
	}
	if rest, ok := strings.CutPrefix(key, PrefixDocuments+"patients/"); ok {
		p, file, ok := cutID(rest, "/")
		if !ok {
			return Key{}, false
		}
		b, seq, ok := cutID(file, "-")
		if !ok {
			return Key{}, false
		}
		s, ok := cutNumber(seq, ".pdf")
		return Key{Kind: KeyPatientDocument, Patient: p, Batch: b, Seq: int(s)}, ok
	}
	if rest, ok := strings.CutPrefix(key, PrefixManifests); ok {
		b, ok := cutNumber(rest, ".json")
		return Key{Kind: KeyManifest, Batch: b}, ok
	}
	if rest, ok := strings.CutPrefix(key, PrefixReleases); ok {
		id, file, ok := cutID(rest, "/")
		return Key{Kind: KeyReleasePacket, Request: id}, ok && file == "packet.pdf"
	}
	if rest, ok := strings.CutPrefix(key, PrefixAuditAnchors); ok {
		id, file, ok := cutID(rest, "-")
		hash, isJSON := strings.CutSuffix(file, ".json")
		return Key{Kind: KeyAuditAnchor, Entry: id, SHA256: hash}, ok && isJSON && isHexHash(hash)
	}
	return Key{}, false
}

// isHexHash reports whether s is a SHA-256 in lower-case hex.
func isHexHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// cutID reads a decimal number up to sep, and returns what follows sep.
func cutID(s, sep string) (int64, string, bool) {
	num, rest, ok := strings.Cut(s, sep)
	if !ok {
		return 0, "", false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	return n, rest, err == nil
}

// cutNumber reads a decimal number followed by suffix, and nothing else.
func cutNumber(s, suffix string) (int64, bool) {
	num, ok := strings.CutSuffix(s, suffix)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	return n, err == nil
}
