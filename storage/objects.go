package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// ObjectsConfig says where the object store is.
type ObjectsConfig struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
	Bucket    string
	UseTLS    bool
	Region    string
	// RetentionDays keeps originals immutable (object lock, governance
	// mode) for this many days where the bucket has object lock. 0: no
	// retention is set.
	RetentionDays int
}

// Objects is paperchart's bucket.
type Objects struct {
	c      *minio.Client
	cfg    ObjectsConfig
	locked bool
}

// OpenObjects connects to the object store. It does not create the bucket:
// see EnsureBucket.
func OpenObjects(ctx context.Context, cfg ObjectsConfig) (*Objects, error) {
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.UseTLS,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("object store client for %s: %w", cfg.Endpoint, err)
	}
	o := &Objects{c: c, cfg: cfg}
	ok, err := c.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("object store at %s: %w", cfg.Endpoint, err)
	}
	if ok {
		o.locked = o.lockEnabled(ctx)
	}
	return o, nil
}

func (o *Objects) lockEnabled(ctx context.Context) bool {
	enabled, _, _, _, err := o.c.GetObjectLockConfig(ctx, o.cfg.Bucket)
	return err == nil && enabled == "Enabled"
}

// Bucket is the bucket's name.
func (o *Objects) Bucket() string { return o.cfg.Bucket }

// Locked reports whether the bucket has object lock, so originals are kept
// under retention.
func (o *Objects) Locked() bool { return o.locked }

// EnsureBucket creates the bucket, with object lock where the server
// supports it, and reports whether it has object lock.
func (o *Objects) EnsureBucket(ctx context.Context) (bool, error) {
	ok, err := o.c.BucketExists(ctx, o.cfg.Bucket)
	if err != nil {
		return false, fmt.Errorf("check bucket %s: %w", o.cfg.Bucket, err)
	}
	if !ok {
		err := o.c.MakeBucket(ctx, o.cfg.Bucket, minio.MakeBucketOptions{Region: o.cfg.Region, ObjectLocking: true})
		if err != nil {
			// A server without object lock: keep the originals without it.
			if err2 := o.c.MakeBucket(ctx, o.cfg.Bucket, minio.MakeBucketOptions{Region: o.cfg.Region}); err2 != nil {
				return false, fmt.Errorf("create bucket %s: %w (with object lock: %v)", o.cfg.Bucket, err2, err)
			}
		}
	}
	o.locked = o.lockEnabled(ctx)
	return o.locked, nil
}

// RemoveBucket deletes every object (bypassing governance retention) and the
// bucket. It exists for tests' clean-up.
func (o *Objects) RemoveBucket(ctx context.Context) error {
	for obj := range o.c.ListObjects(ctx, o.cfg.Bucket, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
		if obj.Err != nil {
			return fmt.Errorf("list bucket %s: %w", o.cfg.Bucket, obj.Err)
		}
		err := o.c.RemoveObject(ctx, o.cfg.Bucket, obj.Key, minio.RemoveObjectOptions{VersionID: obj.VersionID, GovernanceBypass: true})
		if err != nil {
			return fmt.Errorf("remove %s: %w", obj.Key, err)
		}
	}
	if err := o.c.RemoveBucket(ctx, o.cfg.Bucket); err != nil {
		return fmt.Errorf("remove bucket %s: %w", o.cfg.Bucket, err)
	}
	return nil
}

// Copy copies the object at src to dst within the bucket.
func (o *Objects) Copy(ctx context.Context, dst, src string) error {
	_, err := o.c.CopyObject(ctx, minio.CopyDestOptions{Bucket: o.cfg.Bucket, Object: dst},
		minio.CopySrcOptions{Bucket: o.cfg.Bucket, Object: src})
	if err != nil {
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return nil
}

// PutOriginal stores a dropped file's bytes under its SHA-256, reads them
// back to prove they are stored, and only then returns. Storing the same
// bytes again is a no-op.
func (o *Objects) PutOriginal(ctx context.Context, path, sha string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("open original: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("stat original: %w", err)
	}
	return o.PutOriginalFrom(ctx, f, st.Size(), sha)
}

// PutOriginalFrom is PutOriginal for the size bytes of r from offset 0:
// ingest passes the descriptor it checked and hashed, so that what is
// stored is what was checked, whatever happens to the path meanwhile.
func (o *Objects) PutOriginalFrom(ctx context.Context, r io.ReaderAt, size int64, sha string) (string, error) {
	key := OriginalKey(sha)
	if info, err := o.c.StatObject(ctx, o.cfg.Bucket, key, minio.StatObjectOptions{}); err == nil {
		if info.UserMetadata["Sha256"] == sha || info.UserMetadata["sha256"] == sha {
			return key, nil
		}
	} else if !isNotFound(err) {
		return "", fmt.Errorf("check original %s: %w", key, err)
	}
	opts := minio.PutObjectOptions{
		ContentType:    "application/octet-stream",
		UserMetadata:   map[string]string{"sha256": sha},
		SendContentMd5: true,
		PartSize:       16 << 20,
	}
	if o.locked && o.cfg.RetentionDays > 0 {
		opts.Mode = minio.Governance
		opts.RetainUntilDate = time.Now().Add(time.Duration(o.cfg.RetentionDays) * 24 * time.Hour).UTC()
	}
	if _, err := o.c.PutObject(ctx, o.cfg.Bucket, key, io.NewSectionReader(r, 0, size), size, opts); err != nil {
		return "", fmt.Errorf("upload original %s: %w", key, err)
	}
	if err := o.verify(ctx, key, sha); err != nil {
		return "", err
	}
	return key, nil
}

// verify reads an object back and compares its SHA-256.
func (o *Objects) verify(ctx context.Context, key, sha string) error {
	r, err := o.c.GetObject(ctx, o.cfg.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return fmt.Errorf("read back %s: %w", key, err)
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return fmt.Errorf("read back %s: %w", key, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha {
		return fmt.Errorf("read back %s: checksum %s, want %s", key, got, sha)
	}
	return nil
}

// Put stores bytes under key.
func (o *Objects) Put(ctx context.Context, key string, data []byte, contentType string) error {
	_, err := o.c.PutObject(ctx, o.cfg.Bucket, key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: contentType, DisableMultipart: true})
	if err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

// ErrOtherOwner is returned by PutChanged when the object under key was
// written for another owner than the one given.
var ErrOtherOwner = errors.New("the object there was written for another owner")

// PutChanged stores bytes under key unless the object there already holds
// exactly these bytes (by the SHA-256 kept in its metadata), and reports
// whether it wrote: rewriting what is there adds no version to a versioned
// bucket. owner, when set, is kept in the object's metadata too, and an
// object written for another owner is left as it is (ErrOtherOwner).
func (o *Objects) PutChanged(ctx context.Context, key string, data []byte, contentType, owner string) (bool, error) {
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	info, err := o.c.StatObject(ctx, o.cfg.Bucket, key, minio.StatObjectOptions{})
	switch {
	case err == nil:
		if was := userMeta(info.UserMetadata, "owner"); owner != "" && was != "" && was != owner {
			return false, fmt.Errorf("store %s: %w", key, ErrOtherOwner)
		}
		if userMeta(info.UserMetadata, "sha256") == sha && info.Size == int64(len(data)) {
			return false, nil
		}
	case !isNotFound(err):
		return false, fmt.Errorf("check %s: %w", key, err)
	}
	meta := map[string]string{"sha256": sha}
	if owner != "" {
		meta["owner"] = owner
	}
	_, err = o.c.PutObject(ctx, o.cfg.Bucket, key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: contentType, DisableMultipart: true, SendContentMd5: true, UserMetadata: meta})
	if err != nil {
		return false, fmt.Errorf("store %s: %w", key, err)
	}
	return true, nil
}

// userMeta returns the user metadata name, however the server spells its
// case.
func userMeta(m map[string]string, name string) string {
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// List returns the keys of the objects under prefix (their current
// versions), in key order.
func (o *Objects) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	for obj := range o.c.ListObjects(ctx, o.cfg.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list %s in bucket %s: %w", prefix, o.cfg.Bucket, obj.Err)
		}
		keys = append(keys, obj.Key)
	}
	return keys, nil
}

// PutFile stores a file under key.
func (o *Objects) PutFile(ctx context.Context, key, path, contentType string) error {
	_, err := o.c.FPutObject(ctx, o.cfg.Bucket, key, path, minio.PutObjectOptions{ContentType: contentType, PartSize: 16 << 20})
	if err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

// Get returns the bytes under key. ErrNotFound if there are none.
func (o *Objects) Get(ctx context.Context, key string) ([]byte, error) {
	r, err := o.c.GetObject(ctx, o.cfg.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("read %s: %w", key, ErrNotFound)
		}
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return b, nil
}

// Open streams the object under key; the caller closes it.
func (o *Objects) Open(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	r, err := o.c.GetObject(ctx, o.cfg.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", key, err)
	}
	st, err := r.Stat()
	if err != nil {
		r.Close()
		if isNotFound(err) {
			return nil, 0, fmt.Errorf("read %s: %w", key, ErrNotFound)
		}
		return nil, 0, fmt.Errorf("read %s: %w", key, err)
	}
	return r, st.Size, nil
}

// Download writes the object under key to a file.
func (o *Objects) Download(ctx context.Context, key, path string) error {
	if err := o.c.FGetObject(ctx, o.cfg.Bucket, key, path, minio.GetObjectOptions{}); err != nil {
		if isNotFound(err) {
			return fmt.Errorf("download %s: %w", key, ErrNotFound)
		}
		return fmt.Errorf("download %s: %w", key, err)
	}
	return nil
}

// ObjectInfo is what Stat says about an object.
type ObjectInfo struct {
	Key          string
	Size         int64
	ContentType  string
	RetainUntil  time.Time
	RetentionSet bool
	SHA256       string
	VersionID    string
}

// Stat describes the object under key. ErrNotFound if there is none.
func (o *Objects) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	info, err := o.c.StatObject(ctx, o.cfg.Bucket, key, minio.StatObjectOptions{})
	if err != nil {
		if isNotFound(err) {
			return ObjectInfo{}, fmt.Errorf("stat %s: %w", key, ErrNotFound)
		}
		return ObjectInfo{}, fmt.Errorf("stat %s: %w", key, err)
	}
	oi := ObjectInfo{Key: key, Size: info.Size, ContentType: info.ContentType, SHA256: info.UserMetadata["Sha256"], VersionID: info.VersionID}
	if oi.SHA256 == "" {
		oi.SHA256 = info.UserMetadata["sha256"]
	}
	// Read retention from HEAD's headers: some servers (versitygw) answer
	// GetObjectRetention with XML that minio-go cannot parse.
	if info.Metadata.Get("X-Amz-Object-Lock-Mode") != "" {
		if until, err := time.Parse(time.RFC3339, info.Metadata.Get("X-Amz-Object-Lock-Retain-Until-Date")); err == nil {
			oi.RetentionSet, oi.RetainUntil = true, until
		}
	}
	return oi, nil
}

// Remove deletes the object under key, or one version of it when versionID
// is set. The server refuses to delete a version under retention.
func (o *Objects) Remove(ctx context.Context, key, versionID string) error {
	if err := o.c.RemoveObject(ctx, o.cfg.Bucket, key, minio.RemoveObjectOptions{VersionID: versionID}); err != nil {
		return fmt.Errorf("remove %s: %w", key, err)
	}
	return nil
}

// Ping checks the object store answers and the bucket exists.
func (o *Objects) Ping(ctx context.Context) error {
	ok, err := o.c.BucketExists(ctx, o.cfg.Bucket)
	if err != nil {
		return fmt.Errorf("object store: %w", err)
	}
	if !ok {
		return fmt.Errorf("object store: bucket %s does not exist (run paperchart migrate)", o.cfg.Bucket)
	}
	return nil
}

func isNotFound(err error) bool {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp.StatusCode == http.StatusNotFound || resp.Code == "NoSuchKey"
	}
	return false
}
