// Package cli holds the wharf command's subcommands. Each one parses flags and calls into the
// packages that do the work.
package cli

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/conda"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/mail"
	"github.com/wharfhq/wharf/internal/server"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/version"
)

// Root is the wharf command.
func Root() *cobra.Command {
	root := &cobra.Command{
		Use:           "wharf",
		Short:         "Wharf: a private conda and PyPI package server",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.String(),
	}
	root.SetVersionTemplate("{{.Version}}\n") // wharf --version prints what wharf version does
	root.AddCommand(serveCmd(), adminCmd(), channelCmd(), uploadCmd(), yankCmd(true), yankCmd(false), fileCmd(), labelCmd(), copyCmd(false), copyCmd(true),
		signupCmd(), accountCmd(), passwordCmd(), whoamiCmd(), userCmd(), inviteCmd(), orgCmd(), groupCmd(), packageCmd(), authCmd(), setupCmd())
	root.AddCommand(loginCmd(), logoutCmd(), siteCmd(), versionCmd())
	root.InitDefaultCompletionCmd() // now, so that the next line sees it
	refuseUnknownSubcommands(root)
	refuseUnknownHelpTopics(root)
	return root
}

// storageFlags are the flags that say where the data lives, shared by serve and admin.
func storageFlags(cmd *cobra.Command, cfg *config.Config) {
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory (SQLite file, blobs, temporary uploads) [WHARF_DATA]")
	f.StringVar(&cfg.Database, "database", cfg.Database, "metadata store: postgres://… for PostgreSQL (default <data>/wharf.db) [WHARF_DATABASE]")
}

// loadConfig is the configuration of the defaults and the environment (WHARF_*), for a command
// that reads it; failIf makes a bad value that command's error when it runs. Root builds every
// command at start: a bad WHARF_BODY_TIMEOUT must not stop wharf version or a client command,
// nor escape Execute (and --json).
func loadConfig() (config.Config, error) {
	return config.Default().FromEnv(os.Getenv)
}

// failIf makes cmd fail with err (when not nil) before it does anything.
func failIf(err error, cmd *cobra.Command) *cobra.Command {
	if err != nil {
		cmd.PreRunE = func(*cobra.Command, []string) error { return err }
	}
	return cmd
}

func serveCmd() *cobra.Command {
	cfg, envErr := loadConfig()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server",
		Long: `Run the Wharf server. With no flags it listens on 127.0.0.1:8080 and keeps everything in
./wharf-data: a SQLite database and a blob directory, created on first start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := cfg.Resolve()
			if err != nil {
				return err
			}
			return serve(cmd.Context(), cfg)
		},
	}
	storageFlags(cmd, &cfg)
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", cfg.Listen, "address to listen on [WHARF_LISTEN]")
	f.StringVar(&cfg.Storage, "storage", cfg.Storage, "blob storage: a directory, or s3://bucket?endpoint=…&region=… (default <data>/blobs) [WHARF_STORAGE]")
	f.Int64Var(&cfg.MaxUploadBytes, "max-upload-bytes", cfg.MaxUploadBytes, "largest package file accepted [WHARF_MAX_UPLOAD_BYTES]")
	f.StringSliceVar(&cfg.ExtraSubdirs, "extra-subdirs", cfg.ExtraSubdirs, "platform subdirs to accept besides conda's known ones, comma-separated [WHARF_EXTRA_SUBDIRS]")
	f.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "log format: text or json [WHARF_LOG_FORMAT]")
	f.StringVar(&cfg.PublicURL, "public-url", cfg.PublicURL, "the address users reach the server at, for links in mails (default http://<listen>) [WHARF_PUBLIC_URL]")
	f.StringVar(&cfg.Signup, "signup", cfg.Signup, "who may create an account: closed (admins only), invite or open [WHARF_SIGNUP]")
	f.StringVar(&cfg.MailFrom, "mail-from", cfg.MailFrom, "sender of account mail (default wharf@localhost) [WHARF_MAIL_FROM]")
	f.StringVar(&cfg.SMTPAddr, "smtp-addr", cfg.SMTPAddr, "SMTP server host:port; without it mail is written to <data>/outbox [WHARF_SMTP_ADDR]")
	f.StringVar(&cfg.SMTPUser, "smtp-user", cfg.SMTPUser, "SMTP user; the password comes from WHARF_SMTP_PASSWORD [WHARF_SMTP_USER]")
	f.StringVar(&cfg.SMTPTLS, "smtp-tls", cfg.SMTPTLS, "starttls (default), tls, or none (loopback servers only) [WHARF_SMTP_TLS]")
	f.StringVar(&cfg.MaxTokenLifetime, "max-token-lifetime", cfg.MaxTokenLifetime, "longest a token may live, as days (365d) or a duration [WHARF_MAX_TOKEN_LIFETIME]")
	f.DurationVar(&cfg.BodyTimeout, "body-timeout", cfg.BodyTimeout, "how long a request body other than an upload (JSON, a form) may take to arrive [WHARF_BODY_TIMEOUT]")
	f.DurationVar(&cfg.UploadIdleTimeout, "upload-idle-timeout", cfg.UploadIdleTimeout, "longest an upload may send nothing; also its start that --upload-min-rate leaves out [WHARF_UPLOAD_IDLE_TIMEOUT]")
	f.Int64Var(&cfg.UploadMinRate, "upload-min-rate", cfg.UploadMinRate, "slowest average an upload may arrive at, in bytes a second (0: no minimum) [WHARF_UPLOAD_MIN_RATE]")
	f.IntVar(&cfg.UploadsPerClient, "uploads-per-client", cfg.UploadsPerClient, "uploads one client address may have in progress at once (0: no bound) [WHARF_UPLOADS_PER_CLIENT]")
	f.DurationVar(&cfg.StoreTimeout, "store-timeout", cfg.StoreTimeout, "how long a database statement or transaction made for a request may wait for the database, and an S3 object store for its answer or the next bytes; then 503 [WHARF_STORE_TIMEOUT]")
	return failIf(envErr, cmd)
}

func newLogger(format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

func serve(ctx context.Context, cfg config.Config) error {
	log := newLogger(cfg.LogFormat)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return err
	}
	if err := cleanSpool(cfg.TempDir(), log); err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer st.Close()
	bl, err := blob.Open(ctx, cfg.Storage)
	if err != nil {
		return err
	}
	defer bl.Close()
	// A crash in the middle of a blob write leaves a temp file beside the blobs; an hour is
	// longer than any live upload can stall between writes.
	if n, err := blob.CleanTemp(ctx, bl, time.Hour); err != nil {
		log.Warn("cleaning blob temp files failed", "err", err)
	} else if n > 0 {
		log.Info("removed blob temp files left by an interrupted write", "files", n)
	}
	limits := conda.DefaultLimits()
	limits.ExtraSubdirs = cfg.ExtraSubdirs
	mailer, err := mail.New(mail.Config{From: cfg.MailFrom, SMTPAddr: cfg.SMTPAddr, SMTPUser: cfg.SMTPUser, SMTPPass: cfg.SMTPPassword,
		SMTPTLS: cfg.SMTPTLS, OutboxDir: cfg.OutboxDir()}, log)
	if err != nil {
		return err
	}
	lifetime, err := cfg.TokenLifetime()
	if err != nil {
		return err
	}
	srv, err := server.New(st, bl, server.Options{MaxUploadBytes: cfg.MaxUploadBytes, TempDir: cfg.TempDir(), Limits: limits, Logger: log,
		Mail: mailer, PublicURL: cfg.PublicURL, Signup: cfg.Signup, MaxTokenLifetime: lifetime,
		BodyTimeout: cfg.BodyTimeout, UploadIdleTimeout: cfg.UploadIdleTimeout, UploadMinRate: cfg.ServerUploadMinRate(), UploadsPerClient: cfg.ServerUploadsPerClient(),
		StoreTimeout: cfg.StoreTimeout})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("wharf listening", "url", "http://"+ln.Addr().String(), "database", describeDSN(cfg.Database), "storage", describeDSN(cfg.Storage))
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	defer srv.Close() // after the last request: writes pending token use times
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// describeDSN shows where data lives without any password in it.
func describeDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		rest := dsn[i+3:]
		if at := strings.LastIndex(strings.SplitN(rest, "/", 2)[0], "@"); at >= 0 {
			return dsn[:i+3] + "…@" + rest[at+1:]
		}
		return dsn
	}
	if abs, err := filepath.Abs(dsn); err == nil {
		return abs
	}
	return dsn
}

// cleanSpool removes the upload spool files that a crash left behind (none is referenced by
// anything) and nothing else: the directory may be one an operator pointed elsewhere.
func cleanSpool(dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	leftovers, err := filepath.Glob(filepath.Join(dir, "upload-*"))
	if err != nil {
		return err
	}
	for _, f := range leftovers {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if len(leftovers) > 0 {
		log.Info("removed interrupted uploads", "count", len(leftovers), "dir", dir)
	}
	return nil
}
