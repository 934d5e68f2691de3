package storage_test

import (
	"errors"
	"testing"
	"time"

	"paperchart/storage"
)

func TestKeys(t *testing.T) {
	at := time.Date(2024, 3, 14, 9, 26, 53, 589793238, time.UTC)
	sha := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	tests := []struct {
		name string
		key  string // as built by the function under test
		want string
		kind storage.Key
	}{
		{"original", storage.OriginalKey(sha), "originals/" + sha, storage.Key{Kind: storage.KeyOriginal, SHA256: sha}},
		{"page source, PDF", storage.PageSourceKey(12, 3, ".pdf"), "pages/12/0003.src.pdf", storage.Key{Kind: storage.KeyPageSource, Batch: 12, Page: 3, Ext: ".pdf"}},
		{"page source, JPEG", storage.PageSourceKey(12, 3, ".jpg"), "pages/12/0003.src.jpg", storage.Key{Kind: storage.KeyPageSource, Batch: 12, Page: 3, Ext: ".jpg"}},
		{"page source, TIFF", storage.PageSourceKey(12, 3, ".tif"), "pages/12/0003.src.tif", storage.Key{Kind: storage.KeyPageSource, Batch: 12, Page: 3, Ext: ".tif"}},
		{"page source without extension", storage.PageSourceKey(12, 3, ""), "pages/12/0003.src", storage.Key{Kind: storage.KeyPageSource, Batch: 12, Page: 3}},
		{"page image", storage.PageImageKey(12, 3), "pages/12/0003.jpg", storage.Key{Kind: storage.KeyPageImage, Batch: 12, Page: 3}},
		{"page image past 9999", storage.PageImageKey(12, 12345), "pages/12/12345.jpg", storage.Key{Kind: storage.KeyPageImage, Batch: 12, Page: 12345}},
		{"page OCR result", storage.PageOCRKey(12, 3), "pages/12/0003.ocr.json", storage.Key{Kind: storage.KeyPageOCR, Batch: 12, Page: 3}},
		{"searchable PDF", storage.SearchableKey(12), "searchable/12.pdf", storage.Key{Kind: storage.KeySearchable, Batch: 12}},
		{"document in review", storage.ReviewDocumentKey(12, 2), "documents/batches/12/2.pdf", storage.Key{Kind: storage.KeyReviewDocument, Batch: 12, Seq: 2}},
		{"edited document", storage.EditedDocumentKey(12, at), "documents/batches/12/edit-1710408413589793238.pdf",
			storage.Key{Kind: storage.KeyEditedDocument, Batch: 12, Edit: at.UnixNano()}},
		{"filed document", storage.PatientDocumentKey(7, 12, 2), "documents/patients/7/12-2.pdf", storage.Key{Kind: storage.KeyPatientDocument, Patient: 7, Batch: 12, Seq: 2}},
		{"audit anchor", storage.AuditAnchorKey(42, sha), "audit/anchors/00000000000000000042-" + sha + ".json",
			storage.Key{Kind: storage.KeyAuditAnchor, Entry: 42, SHA256: sha}},
		{"batch manifest", storage.ManifestKey(12), "manifests/batches/12.json", storage.Key{Kind: storage.KeyManifest, Batch: 12}},
		{"release packet", storage.ReleasePacketKey(123), "releases/123/packet.pdf", storage.Key{Kind: storage.KeyReleasePacket, Request: 123}},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.key != tt.want {
				t.Fatalf("key %q, want %q", tt.key, tt.want)
			}
			got, err := storage.ParseKey(tt.key)
			if err != nil {
				t.Fatalf("parse %q: %v", tt.key, err)
			}
			if got != tt.kind {
				t.Fatalf("parse %q: %+v, want %+v", tt.key, got, tt.kind)
			}
			if got.String() != tt.key {
				t.Fatalf("%+v builds %q, want %q", got, got.String(), tt.key)
			}
		})
		if other, dup := seen[tt.key]; dup {
			t.Errorf("%s and %s share the key %q", tt.name, other, tt.key)
		}
		seen[tt.key] = tt.name
	}
}

func TestParseKeyRefuses(t *testing.T) {
	for _, key := range []string{
		"",
		"originals/",
		"originals/a/b",
		"pages/12/3.jpg",           // page numbers are padded to four digits
		"pages/12/0003.png",        // normalised images are JPEG
		"pages/x/0003.jpg",         // batch is a number
		"pages/12/0003",            // neither image, OCR nor source
		"searchable/12.txt",        // not a PDF
		"searchable/+12.pdf",       // not as built
		"documents/batches/12.pdf", // no batch folder
		"documents/batches/12/two.pdf",
		"documents/patients/7/12.pdf", // no sequence
		"documents/patients/7/12-2-3.pdf",
		"thumbnails/12/0003.jpg",
		"audit/anchors/42-9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.json",                   // ID not padded
		"audit/anchors/00000000000000000042-9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08.json", // upper-case hash
		"audit/anchors/00000000000000000042-abc.json",                                                              // not a SHA-256
		"audit/anchors/00000000000000000042-9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",      // not JSON
		"manifests/batches/12",       // not JSON
		"manifests/batches/012.json", // not as built
		"manifests/12.json",          // not under batches/
		"releases/123/cover.pdf",     // a request has one packet
		"releases/x/packet.pdf",      // request is a number
	} {
		if k, err := storage.ParseKey(key); !errors.Is(err, storage.ErrBadKey) {
			t.Errorf("ParseKey(%q) = %+v, %v; want ErrBadKey", key, k, err)
		}
	}
}
