package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"paperchart/extract"
	"paperchart/filing"
	"paperchart/ingest"
	"paperchart/ocr"
	"paperchart/patients"
	"paperchart/sheets"
	"paperchart/storage"
	"paperchart/workers"
)

// config is every setting, from flags with defaults taken from PAPERCHART_*
// environment variables, with loopback defaults.
type config struct {
	DatabaseURL string

	RedisAddr        string
	RedisPassword    string
	RedisDB          int
	RedisSentinels   string
	RedisMaster      string
	SentinelPassword string
	QueuePrefix      string

	S3Endpoint    string
	S3AccessKey   string
	S3SecretKey   string
	S3Bucket      string
	S3TLS         bool
	RetentionDays int

	Drop          string
	StableFor     time.Duration
	ScanEvery     time.Duration
	KeepProcessed time.Duration

	HTTPAddr      string
	SecureCookies bool
	FHIRBase      string
	TLSCert       string
	TLSKey        string
	AccessDays    int
	ViewKey       string

	Concurrency int
	WorkDir     string
	MaxRetry    int

	WebhookURL    string
	WebhookSecret string

	Authority  string
	Separator  string
	MRNPattern string
	TypeDoubt  string
	MRNWidth   int
	NoBarcodes bool
	ReadDPI    int

	HealthAddr string

	LogLevel  string
	LogFormat string
}

// env is the value of the environment variable name, or def when it is
// not set. Set and empty means empty, as an empty flag does
// (PAPERCHART_HL7_ADDR= turns the listener off); numbers, durations and
// switches read an empty value as unset.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func envBool(name string, def bool) bool {
	if v, err := strconv.ParseBool(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// Flag groups: each command registers the ones it uses.
const (
	useDB = 1 << iota
	useRedis
	useS3
	useDrop
	useHTTP
	useWorker
	useFiling
	useHealth
)

func (c *config) register(fs *flag.FlagSet, groups int) {
	fs.StringVar(&c.LogLevel, "log-level", env("PAPERCHART_LOG_LEVEL", "info"), "log level: debug, info, warn or error (PAPERCHART_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", env("PAPERCHART_LOG_FORMAT", "text"), "log format: text or json (PAPERCHART_LOG_FORMAT)")
	if groups&useDB != 0 {
		fs.StringVar(&c.DatabaseURL, "database-url", env("PAPERCHART_DATABASE_URL", "postgres://paperchart@127.0.0.1:5432/paperchart?sslmode=disable"),
			"PostgreSQL URL (PAPERCHART_DATABASE_URL)")
	}
	if groups&useRedis != 0 {
		fs.StringVar(&c.RedisAddr, "redis-addr", env("PAPERCHART_REDIS_ADDR", "127.0.0.1:6379"), "Redis host:port for the job queue (PAPERCHART_REDIS_ADDR)")
		fs.StringVar(&c.RedisPassword, "redis-password", env("PAPERCHART_REDIS_PASSWORD", ""), "Redis password (PAPERCHART_REDIS_PASSWORD)")
		fs.IntVar(&c.RedisDB, "redis-db", envInt("PAPERCHART_REDIS_DB", 0), "Redis database number (PAPERCHART_REDIS_DB)")
		fs.StringVar(&c.RedisSentinels, "redis-sentinels", env("PAPERCHART_REDIS_SENTINELS", ""),
			"Redis Sentinels, comma-separated host:port: find the master of --redis-master through them and\nfollow failovers; --redis-addr is then not used (PAPERCHART_REDIS_SENTINELS)")
		fs.StringVar(&c.RedisMaster, "redis-master", env("PAPERCHART_REDIS_MASTER", "mymaster"),
			"the master's name the Sentinels monitor, with --redis-sentinels (PAPERCHART_REDIS_MASTER)")
		fs.StringVar(&c.SentinelPassword, "redis-sentinel-password", env("PAPERCHART_REDIS_SENTINEL_PASSWORD", ""),
			"password of the Sentinels themselves, with --redis-sentinels (PAPERCHART_REDIS_SENTINEL_PASSWORD)")
		fs.StringVar(&c.QueuePrefix, "queue-prefix", env("PAPERCHART_QUEUE_PREFIX", ""), "prefix of the queue names, to share one Redis between deployments (PAPERCHART_QUEUE_PREFIX)")
		fs.IntVar(&c.MaxRetry, "max-retry", envInt("PAPERCHART_MAX_RETRY", 5), "retries of a failed task before its batch is marked failed (PAPERCHART_MAX_RETRY)")
	}
	if groups&useS3 != 0 {
		fs.StringVar(&c.S3Endpoint, "s3-endpoint", env("PAPERCHART_S3_ENDPOINT", "127.0.0.1:7070"), "S3-compatible server host:port (PAPERCHART_S3_ENDPOINT)")
		fs.StringVar(&c.S3AccessKey, "s3-access-key", env("PAPERCHART_S3_ACCESS_KEY", "paperchart"), "S3 access key (PAPERCHART_S3_ACCESS_KEY)")
		fs.StringVar(&c.S3SecretKey, "s3-secret-key", env("PAPERCHART_S3_SECRET_KEY", "paperchart-dev-secret"), "S3 secret key (PAPERCHART_S3_SECRET_KEY)")
		fs.StringVar(&c.S3Bucket, "s3-bucket", env("PAPERCHART_S3_BUCKET", "paperchart"), "bucket (PAPERCHART_S3_BUCKET)")
		fs.BoolVar(&c.S3TLS, "s3-tls", envBool("PAPERCHART_S3_TLS", false), "use HTTPS to the S3 server (PAPERCHART_S3_TLS)")
		fs.IntVar(&c.RetentionDays, "retention-days", envInt("PAPERCHART_RETENTION_DAYS", 2555),
			"days originals stay immutable under object lock, where the bucket has it (PAPERCHART_RETENTION_DAYS; 0: none)")
	}
	if groups&useDrop != 0 {
		fs.StringVar(&c.Drop, "drop", env("PAPERCHART_DROP", "var/drop/inbox"),
			"drop folders, comma-separated, each PATH or NAME=PATH (PAPERCHART_DROP)")
		fs.DurationVar(&c.StableFor, "stable-for", envDuration("PAPERCHART_STABLE_FOR", ingest.DefaultStableFor),
			"how long a dropped file must stay unchanged before it is taken; a quarter of it for a file that\nends as its format ends (a PDF with %%EOF, a JPEG, a PNG) (PAPERCHART_STABLE_FOR)")
		fs.DurationVar(&c.ScanEvery, "scan-every", envDuration("PAPERCHART_SCAN_EVERY", ingest.DefaultScanEvery),
			"period of the drop-folder scan, which network shares need (PAPERCHART_SCAN_EVERY)")
		fs.DurationVar(&c.KeepProcessed, "keep-processed", envDuration("PAPERCHART_KEEP_PROCESSED", 30*24*time.Hour),
			"how long stored files stay in the processed folder; -1s keeps them (PAPERCHART_KEEP_PROCESSED)")
	}
	if groups&useHTTP != 0 {
		fs.StringVar(&c.HTTPAddr, "http-addr", env("PAPERCHART_HTTP_ADDR", "127.0.0.1:8080"), "HTTP listen address (PAPERCHART_HTTP_ADDR)")
		fs.StringVar(&c.TLSCert, "tls-cert", env("PAPERCHART_TLS_CERT", ""), "TLS certificate file (PEM); with --tls-key, serve HTTPS (PAPERCHART_TLS_CERT)")
		fs.StringVar(&c.TLSKey, "tls-key", env("PAPERCHART_TLS_KEY", ""), "TLS private key file (PEM) (PAPERCHART_TLS_KEY)")
		fs.BoolVar(&c.SecureCookies, "secure-cookies", envBool("PAPERCHART_SECURE_COOKIES", false),
			"mark the sign-in cookie Secure (HTTPS only); on by itself with --tls-cert (PAPERCHART_SECURE_COOKIES)")
		fs.IntVar(&c.AccessDays, "access-days", envInt("PAPERCHART_ACCESS_DAYS", 14),
			"minimum necessary: an indexer reads the review queue and the documents they filed or worked on\nin the last this many days; others only after breaking the glass (PAPERCHART_ACCESS_DAYS)")
		fs.StringVar(&c.ViewKey, "view-key", env("PAPERCHART_VIEW_KEY", ""),
			"secret of at least 32 characters that signs the per-view tokens of page-image URLs, which tie\n"+
				"each image read in the audit trail to its view; give every serve process behind one load balancer\n"+
				"the same one (set it in the environment, not on the command line). Empty: a random key per\n"+
				"process, whose tokens only it accepts (PAPERCHART_VIEW_KEY)")
	}
	if groups&useWorker != 0 {
		fs.IntVar(&c.Concurrency, "concurrency", envInt("PAPERCHART_CONCURRENCY", runtime.NumCPU()),
			"tasks run at once, each with its own Tesseract engine (PAPERCHART_CONCURRENCY; default: CPU cores)")
		fs.StringVar(&c.WorkDir, "work-dir", env("PAPERCHART_WORK_DIR", os.TempDir()), "folder for temporary files (PAPERCHART_WORK_DIR)")
		fs.BoolVar(&c.NoBarcodes, "no-barcodes", envBool("PAPERCHART_NO_BARCODES", false),
			"do not read barcodes: no cover or separator sheets, no patient labels (PAPERCHART_NO_BARCODES)")
		fs.IntVar(&c.ReadDPI, "read-dpi", envInt("PAPERCHART_READ_DPI", 0),
			"when set (200, say), pages scanned above 5/4 of this resolution are read on a copy shrunk to it: about\n"+
				"a fifth faster on 300-dpi pages, but it can miss faint columns and misread digits (README, Benchmark);\n"+
				"small print and low confidence are read again as scanned. 0: every page as scanned (PAPERCHART_READ_DPI)")
	}
	if groups&useHealth != 0 {
		fs.StringVar(&c.HealthAddr, "health-addr", env("PAPERCHART_HEALTH_ADDR", ""),
			"listen address for GET /healthz (dependencies), /livez and /metrics, for orchestrators'\nprobes and Prometheus; empty: none (PAPERCHART_HEALTH_ADDR)")
	}
	if groups&useFiling != 0 {
		fs.StringVar(&c.Authority, "authority", env("PAPERCHART_AUTHORITY", patients.DefaultAuthority),
			"assigning authority of the MRNs printed on documents (PAPERCHART_AUTHORITY)")
		fs.StringVar(&c.Separator, "separator", env("PAPERCHART_SEPARATOR", sheets.DefaultSeparator),
			"barcode value of separator sheets (PAPERCHART_SEPARATOR)")
		fs.StringVar(&c.MRNPattern, "mrn-pattern", env("PAPERCHART_MRN_PATTERN", ""),
			"regular expression of the facility's MRNs after an MRN label; group 1, if any, is the MRN\n(PAPERCHART_MRN_PATTERN; default: 6 to 10 digits)")
		fs.StringVar(&c.FHIRBase, "fhir-base", env("PAPERCHART_FHIR_BASE", ""),
			"absolute URL of the FHIR server as the EHR reaches it, e.g. https://paperchart.example/fhir;\nempty: from each request's Host (PAPERCHART_FHIR_BASE)")
		fs.StringVar(&c.WebhookURL, "webhook-url", env("PAPERCHART_WEBHOOK_URL", ""),
			"POST a signed notice here for every filed document (worker; PAPERCHART_WEBHOOK_URL)")
		fs.StringVar(&c.WebhookSecret, "webhook-secret", env("PAPERCHART_WEBHOOK_SECRET", ""),
			"HMAC-SHA256 key the notices are signed with; required with --webhook-url (PAPERCHART_WEBHOOK_SECRET)")
		fs.StringVar(&c.TypeDoubt, "type-doubt", env("PAPERCHART_TYPE_DOUBT", filing.TypeDoubtFile),
			"a document whose split and patient are sure but whose type is in doubt: file (under its patient,\npreliminary, for the type-check queue) or review (hold it in the review queue) (PAPERCHART_TYPE_DOUBT)")
		fs.IntVar(&c.MRNWidth, "mrn-width", envInt("PAPERCHART_MRN_WIDTH", 8),
			"all-digit MRNs printed shorter are padded with zeros to this width; 0: never (PAPERCHART_MRN_WIDTH)")
	}
}

// filingConfig is the filing stage's configuration from the flags.
func (c *config) filingConfig() filing.Config {
	xc := extract.Config{MRNWidth: c.MRNWidth}
	if c.MRNPattern != "" {
		xc.MRNPatterns = []string{c.MRNPattern}
	}
	return filing.Config{Authority: c.Authority, Separator: c.Separator, Extract: &xc, WorkDir: c.WorkDir, TypeDoubt: c.TypeDoubt}
}

func (c *config) logger() *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// redis is how to reach the queue's Redis: through Sentinel when
// --redis-sentinels names them (asynq follows the master across
// failovers), else at --redis-addr.
func (c *config) redis() asynq.RedisConnOpt {
	if sentinels := c.sentinels(); len(sentinels) > 0 {
		return asynq.RedisFailoverClientOpt{MasterName: c.RedisMaster, SentinelAddrs: sentinels,
			SentinelPassword: c.SentinelPassword, Password: c.RedisPassword, DB: c.RedisDB}
	}
	return asynq.RedisClientOpt{Addr: c.RedisAddr, Password: c.RedisPassword, DB: c.RedisDB}
}

func (c *config) sentinels() []string {
	var out []string
	for _, a := range strings.Split(c.RedisSentinels, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// redisWhere says where Redis was looked for, for error messages.
func (c *config) redisWhere() string {
	if s := c.sentinels(); len(s) > 0 {
		return fmt.Sprintf("master %q of the Sentinels at %s", c.RedisMaster, strings.Join(s, ","))
	}
	return c.RedisAddr
}

func (c *config) openDB(ctx context.Context) (*storage.DB, error) {
	return storage.OpenDB(ctx, c.DatabaseURL)
}

// objectsConfig is where the object store is and how to sign in to it.
func (c *config) objectsConfig() storage.ObjectsConfig {
	return storage.ObjectsConfig{
		Endpoint: c.S3Endpoint, AccessKey: c.S3AccessKey, SecretKey: c.S3SecretKey,
		Bucket: c.S3Bucket, UseTLS: c.S3TLS,
	}
}

func (c *config) openObjects(ctx context.Context) (*storage.Objects, error) {
	oc := c.objectsConfig()
	oc.RetentionDays = c.RetentionDays
	return storage.OpenObjects(ctx, oc)
}

func (c *config) queue() *workers.Queue {
	return workers.NewQueue(c.redis(), workers.QueueConfig{Prefix: c.QueuePrefix, MaxRetry: c.MaxRetry})
}

func (c *config) folders() ([]ingest.Folder, error) {
	var fs []ingest.Folder
	names := map[string]bool{}
	for _, s := range strings.Split(c.Drop, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		f := ingest.ParseFolder(s)
		abs, err := filepath.Abs(f.Path)
		if err != nil {
			return nil, fmt.Errorf("drop folder %q: %w", s, err)
		}
		f.Path = abs
		if names[f.Name] {
			return nil, fmt.Errorf("two drop folders are named %q: name them with NAME=PATH", f.Name)
		}
		names[f.Name] = true
		fs = append(fs, f)
	}
	if len(fs) == 0 {
		return nil, fmt.Errorf("no drop folder: set --drop or PAPERCHART_DROP")
	}
	return fs, nil
}

func (c *config) workerConfig() workers.Config {
	return workers.Config{
		Queue:       workers.QueueConfig{Prefix: c.QueuePrefix, MaxRetry: c.MaxRetry},
		Concurrency: c.Concurrency,
		WorkDir:     c.WorkDir,
		Filing:      c.filingConfig(),
		NoBarcodes:  c.NoBarcodes,
		OCR:         ocr.Options{ReadDPI: c.ReadDPI},
	}
}
