// Package testenv gives tests their own database, bucket and queue names on
// the real PostgreSQL, S3-compatible server and Redis that deploy/setup.sh
// starts (make test runs it). It never fakes a service: when one does not
// answer, the test fails and says how to start it.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"paperchart/storage"
)

const hint = "start the services with `bash deploy/setup.sh` (make test does)"

// Env returns the environment variable or its default.
func Env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// DatabaseURL is the server's URL from PAPERCHART_DATABASE_URL.
func DatabaseURL() string {
	return Env("PAPERCHART_DATABASE_URL", "postgres://paperchart@127.0.0.1:5432/paperchart?sslmode=disable")
}

// RedisAddr is Redis's address from PAPERCHART_REDIS_ADDR.
func RedisAddr() string { return Env("PAPERCHART_REDIS_ADDR", "127.0.0.1:6379") }

// ObjectsConfig is the object store's configuration from PAPERCHART_S3_*,
// with the given bucket.
func ObjectsConfig(bucket string) storage.ObjectsConfig {
	return storage.ObjectsConfig{
		Endpoint:      Env("PAPERCHART_S3_ENDPOINT", "127.0.0.1:7070"),
		AccessKey:     Env("PAPERCHART_S3_ACCESS_KEY", "paperchart"),
		SecretKey:     Env("PAPERCHART_S3_SECRET_KEY", "paperchart-dev-secret"),
		Bucket:        bucket,
		RetentionDays: 1,
	}
}

// Name returns a short random name with the prefix, for databases, buckets
// and queues that no other test uses.
func Name(prefix string) string {
	b := make([]byte, 5)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// DBURL creates an empty database for the test, dropped when it ends, and
// returns its URL.
func DBURL(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := DatabaseURL()
	name := Name("pctest_")
	u, err := storage.CreateDatabase(ctx, admin, name)
	if err != nil {
		t.Fatalf("PostgreSQL at %s: %v; %s", redact(admin), err, hint)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := storage.DropDatabase(ctx, admin, name); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	return u
}

// DB returns a migrated database of the test's own.
func DB(t testing.TB) *storage.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := storage.OpenDB(ctx, DBURL(t))
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	return db
}

// Objects returns a bucket of the test's own, emptied and removed when the
// test ends.
func Objects(t testing.TB) *storage.Objects {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := ObjectsConfig(strings.ReplaceAll(Name("pctest-"), "_", "-"))
	o, err := storage.OpenObjects(ctx, cfg)
	if err != nil {
		t.Fatalf("object store at %s: %v; %s", cfg.Endpoint, err, hint)
	}
	if _, err := o.EnsureBucket(ctx); err != nil {
		t.Fatalf("create test bucket: %v; %s", err, hint)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := o.RemoveBucket(ctx); err != nil {
			t.Logf("remove test bucket %s: %v", cfg.Bucket, err)
		}
	})
	return o
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}

// Must fails the test on err.
func Must(t testing.TB, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}
