package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"paperchart/storage"
)

// This file keeps the chain pinned from outside the database. An anchor is
// the chain head (the last entry's ID and hash) written to the object store
// as a small JSON object, under object-lock retention where the bucket has
// object lock, so that whoever can rewrite the database cannot rewrite the
// anchors too. Someone who changes an entry and recomputes every hash after
// it makes a chain that verifies on its own, but its hash at an anchored
// entry is no longer the anchored one: VerifyAnchors finds that.

// AnchorType is the Type of every anchor object this version writes.
const AnchorType = "paperchart.audit.anchor/v1"

// Anchor is one anchor object.
type Anchor struct {
	Type    string    `json:"type"`     // AnchorType
	EntryID int64     `json:"entry_id"` // the last entry when it was written
	Hash    string    `json:"hash"`     // that entry's hash
	At      time.Time `json:"at"`       // when it was written
	// Mode and RetainUntil are the object lock retention it was written
	// under; Mode is "" when the bucket has no object lock.
	Mode        string    `json:"mode,omitempty"`
	RetainUntil time.Time `json:"retain_until,omitzero"`
	Key         string    `json:"-"` // where it is kept
}

// Locked reports whether the anchor was written under retention.
func (a Anchor) Locked() bool { return a.Mode != "" }

// Retention modes of anchors.
const (
	ModeCompliance = "compliance" // nobody can delete or shorten it, not even the bucket's root user
	ModeGovernance = "governance" // users with the bypass permission can
)

// AnchorOptions say how anchors are kept.
type AnchorOptions struct {
	Mode string // ModeCompliance (default) or ModeGovernance
	Days int    // retention; default 2555 (7 years)
}

// DefaultAnchorDays is how long anchors are kept under retention by default.
const DefaultAnchorDays = 2555

// Anchors keeps anchors in the object store's bucket, under
// storage.PrefixAuditAnchors. It is safe for concurrent use.
type Anchors struct {
	c      *minio.Client
	bucket string
	mode   minio.RetentionMode
	days   int
	// locked is whether anchors are written under retention: the bucket
	// has object lock, and the server has not refused it.
	locked atomic.Bool
}

// OpenAnchors connects to the bucket of cfg, which must exist (migrate
// creates it), and reads whether it has object lock.
func OpenAnchors(ctx context.Context, cfg storage.ObjectsConfig, opts AnchorOptions) (*Anchors, error) {
	a := &Anchors{bucket: cfg.Bucket, mode: minio.Compliance, days: opts.Days}
	switch strings.ToLower(opts.Mode) {
	case "", ModeCompliance:
	case ModeGovernance:
		a.mode = minio.Governance
	default:
		return nil, fmt.Errorf("anchor retention mode %q: want %s or %s", opts.Mode, ModeCompliance, ModeGovernance)
	}
	if a.days <= 0 {
		a.days = DefaultAnchorDays
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""), Secure: cfg.UseTLS, Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("object store client for %s: %w", cfg.Endpoint, err)
	}
	a.c = c
	ok, err := c.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("object store at %s: %w", cfg.Endpoint, err)
	}
	if !ok {
		return nil, fmt.Errorf("object store: bucket %s does not exist (run paperchart migrate)", cfg.Bucket)
	}
	enabled, _, _, _, err := c.GetObjectLockConfig(ctx, cfg.Bucket)
	a.locked.Store(err == nil && enabled == "Enabled")
	return a, nil
}

// Locked reports whether the bucket has object lock, so that anchors are
// written under retention.
func (a *Anchors) Locked() bool { return a.locked.Load() }

// put writes an anchor, under retention where the bucket has object lock.
// A server that refuses the retention headers gets the anchor without them.
func (a *Anchors) put(ctx context.Context, an Anchor) (Anchor, error) {
	opts := minio.PutObjectOptions{ContentType: "application/json", DisableMultipart: true, SendContentMd5: true}
	locked := a.locked.Load()
	if locked {
		an.Mode = strings.ToLower(string(a.mode))
		an.RetainUntil = an.At.Add(time.Duration(a.days) * 24 * time.Hour).UTC().Truncate(time.Second)
		opts.Mode, opts.RetainUntilDate = a.mode, an.RetainUntil
	}
	body, err := json.Marshal(an)
	if err != nil {
		return Anchor{}, fmt.Errorf("encode anchor: %w", err)
	}
	_, err = a.c.PutObject(ctx, a.bucket, an.Key, bytes.NewReader(body), int64(len(body)), opts)
	if err != nil && locked && refusesLock(err) {
		a.locked.Store(false)
		an.Mode, an.RetainUntil = "", time.Time{}
		return a.put(ctx, an)
	}
	if err != nil {
		return Anchor{}, fmt.Errorf("store anchor %s: %w", an.Key, err)
	}
	return an, nil
}

// refusesLock reports whether the server refused a PUT for its object lock
// headers (not for a reason that would fail without them).
func refusesLock(err error) bool {
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		return false
	}
	switch resp.Code {
	case "InvalidRequest", "NotImplemented", "InvalidArgument", "ObjectLockConfigurationNotFoundError":
		return true
	}
	return resp.StatusCode == http.StatusNotImplemented
}

func (a *Anchors) exists(ctx context.Context, key string) (bool, error) {
	_, err := a.c.StatObject(ctx, a.bucket, key, minio.StatObjectOptions{})
	if err == nil {
		return true, nil
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) && (resp.StatusCode == http.StatusNotFound || resp.Code == "NoSuchKey") {
		return false, nil
	}
	return false, fmt.Errorf("check anchor %s: %w", key, err)
}

func (a *Anchors) get(ctx context.Context, key, versionID string) (Anchor, error) {
	r, err := a.c.GetObject(ctx, a.bucket, key, minio.GetObjectOptions{VersionID: versionID})
	if err != nil {
		return Anchor{}, fmt.Errorf("read anchor %s: %w", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return Anchor{}, fmt.Errorf("read anchor %s: %w", key, err)
	}
	var an Anchor
	if err := json.Unmarshal(b, &an); err != nil {
		return Anchor{}, fmt.Errorf("read anchor %s: %w", key, err)
	}
	an.Key = key
	return an, nil
}

// listed is one anchor object as listed, its ID and hash read from its key.
type listed struct {
	key       string
	versionID string
	entry     int64
	hash      string
	modified  time.Time
	deleted   bool // a delete marker: someone deleted it
}

// list returns every version of every anchor object, delete markers
// included, so that an anchor deleted in a versioned bucket is still seen.
func (a *Anchors) list(ctx context.Context) ([]listed, error) {
	var out []listed
	for obj := range a.c.ListObjects(ctx, a.bucket, minio.ListObjectsOptions{Prefix: storage.PrefixAuditAnchors, Recursive: true, WithVersions: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list anchors: %w", obj.Err)
		}
		if obj.VersionID == "null" {
			// An unversioned bucket's objects (versitygw) have no version
			// that can be asked for by ID.
			obj.VersionID = ""
		}
		k, err := storage.ParseKey(obj.Key)
		if err != nil || k.Kind != storage.KeyAuditAnchor {
			out = append(out, listed{key: obj.Key, versionID: obj.VersionID, modified: obj.LastModified, deleted: obj.IsDeleteMarker})
			continue
		}
		out = append(out, listed{key: obj.Key, versionID: obj.VersionID, entry: k.Entry, hash: k.SHA256,
			modified: obj.LastModified, deleted: obj.IsDeleteMarker})
	}
	return out, nil
}

// Head returns the chain head: the last entry's ID and hash (0 and Genesis
// when the log is empty).
func (l *Log) Head(ctx context.Context) (int64, string, error) {
	var id int64
	var hash string
	if err := l.pool.QueryRow(ctx, `SELECT last_id, last_hash FROM audit_chain`).Scan(&id, &hash); err != nil {
		return 0, "", fmt.Errorf("read the chain head: %w", err)
	}
	return id, hash, nil
}

// Anchor writes the chain head to the store, and returns the anchor and
// whether it was written now: an anchor of the same entry and hash already
// kept is not written again, and an empty log is not anchored (the Anchor
// is zero).
func (l *Log) Anchor(ctx context.Context, store *Anchors) (Anchor, bool, error) {
	id, hash, err := l.Head(ctx)
	if err != nil || id == 0 {
		return Anchor{}, false, err
	}
	key := storage.AuditAnchorKey(id, hash)
	if ok, err := store.exists(ctx, key); err != nil {
		return Anchor{}, false, err
	} else if ok {
		an, err := store.get(ctx, key, "")
		return an, false, err
	}
	at := time.Now()
	if l.now != nil {
		at = l.now()
	}
	an, err := store.put(ctx, Anchor{Type: AnchorType, EntryID: id, Hash: hash, At: at.UTC().Truncate(time.Second), Key: key})
	if err != nil {
		return Anchor{}, false, err
	}
	return an, true, nil
}

// AnchorReport is what VerifyAnchors found.
type AnchorReport struct {
	Anchors int  `json:"anchors"` // anchor objects checked (versions included)
	Intact  bool `json:"intact"`  // every anchored entry is in the chain with its anchored hash
	// Problems names each anchor that does not match the chain, and
	// anchors that are not as written (deleted, changed, not paperchart's).
	Problems []string `json:"problems,omitempty"`
	// Latest is the anchor of the highest entry (nil: none yet).
	Latest *Anchor `json:"latest,omitempty"`
	// LatestLock is the latest anchor's retention mode as the object store
	// reports it: "compliance" or "governance", or "" when it has none (it
	// could be deleted by whoever holds the bucket's keys).
	LatestLock        string    `json:"latest_lock,omitempty"`
	LatestRetainUntil time.Time `json:"latest_retain_until,omitzero"`
}

// VerifyAnchors checks every anchor in the store against the log: the
// anchored entry must exist and have the anchored hash. An entry rewritten
// (and the chain recomputed after it), or entries deleted up to and past an
// anchor, are reported, naming the anchor. Anchors deleted from a versioned
// bucket (a delete marker over them) are still checked, and the deletion
// reported. An error is returned only when the database or the store cannot
// be read.
func (l *Log) VerifyAnchors(ctx context.Context, store *Anchors) (AnchorReport, error) {
	var rep AnchorReport
	objs, err := store.list(ctx)
	if err != nil {
		return rep, err
	}
	var ids []int64
	for _, o := range objs {
		if !o.deleted && o.entry > 0 {
			ids = append(ids, o.entry)
		}
	}
	chain := map[int64]string{}
	rows, err := l.pool.Query(ctx, `SELECT id, hash FROM audit_log WHERE id = ANY($1)`, ids)
	if err != nil {
		return rep, fmt.Errorf("read anchored entries: %w", err)
	}
	var id int64
	var hash string
	if _, err := pgx.ForEachRow(rows, []any{&id, &hash}, func() error { chain[id] = hash; return nil }); err != nil {
		return rep, fmt.Errorf("read anchored entries: %w", err)
	}
	sort.Slice(objs, func(i, j int) bool {
		if objs[i].entry != objs[j].entry {
			return objs[i].entry < objs[j].entry
		}
		return objs[i].modified.Before(objs[j].modified)
	})
	problem := func(format string, args ...any) { rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...)) }
	var latest *listed
	for i, o := range objs {
		switch {
		case o.deleted:
			problem("anchor %s was deleted (a delete marker hides it)", o.key)
			continue
		case o.entry == 0:
			problem("object %s is not an anchor paperchart writes", o.key)
			continue
		}
		rep.Anchors++
		got, ok := chain[o.entry]
		switch {
		case !ok:
			problem("anchor %s (written %s): entry %d is not in the log: entries were deleted",
				o.key, o.modified.UTC().Format(time.RFC3339), o.entry)
		case got != o.hash:
			problem("anchor %s (written %s): entry %d has hash %s in the log, the anchor holds %s: "+
				"the log was rewritten up to or after that entry", o.key, o.modified.UTC().Format(time.RFC3339), o.entry, got, o.hash)
		}
		latest = &objs[i]
	}
	if latest != nil {
		an, err := store.get(ctx, latest.key, latest.versionID)
		if err != nil {
			return rep, err
		}
		if an.Type != AnchorType || an.EntryID != latest.entry || an.Hash != latest.hash {
			problem("anchor %s holds %s entry %d hash %s, not what its key names", latest.key, an.Type, an.EntryID, an.Hash)
		}
		// Whether it is under retention, as the server says it (HEAD),
		// not as the object claims.
		info, err := store.c.StatObject(ctx, store.bucket, latest.key, minio.StatObjectOptions{VersionID: latest.versionID})
		if err != nil {
			return rep, fmt.Errorf("stat anchor %s: %w", latest.key, err)
		}
		rep.LatestLock = strings.ToLower(info.Metadata.Get("X-Amz-Object-Lock-Mode"))
		if until, err := time.Parse(time.RFC3339, info.Metadata.Get("X-Amz-Object-Lock-Retain-Until-Date")); err == nil {
			rep.LatestRetainUntil = until
		}
		rep.Latest = &an
	}
	rep.Intact = len(rep.Problems) == 0
	return rep, nil
}

// Anchorer writes an anchor at start and then every Every, until its
// context ends. It never fails: a failed write is logged and tried again
// at the next tick.
type Anchorer struct {
	Log    *Log
	Store  *Anchors
	Every  time.Duration // default 5 minutes
	Logger *slog.Logger
}

// DefaultAnchorEvery is how often Anchorer writes an anchor by default.
const DefaultAnchorEvery = 5 * time.Minute

// Run writes anchors until ctx is done, and returns nil.
func (a *Anchorer) Run(ctx context.Context) error {
	every := a.Every
	if every <= 0 {
		every = DefaultAnchorEvery
	}
	log := a.Logger
	if log == nil {
		log = slog.Default()
	}
	if !a.Store.Locked() {
		log.Warn("audit anchors are written without object lock: the bucket has none, so whoever holds its keys can delete them",
			"every", every)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	wasLocked := a.Store.Locked()
	for {
		an, wrote, err := a.Log.Anchor(ctx, a.Store)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			log.Error("write audit anchor", "err", err)
		case wrote:
			log.Debug("audit anchor written", "entry", an.EntryID, "key", an.Key, "locked", an.Locked())
			if wasLocked && !an.Locked() {
				log.Warn("the object store refused object lock on an audit anchor: anchors are written without it from now on", "key", an.Key)
				wasLocked = false
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
