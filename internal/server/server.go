// Package server is Wharf's HTTP surface: the conda channels, the REST API, and the middleware
// every request passes through. Every route is in one table with the action it needs; the
// request path is always: identify the principal, resolve the resource, ask access.May, act.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/api"
	"github.com/wharfhq/wharf/internal/blob"
	"github.com/wharfhq/wharf/internal/conda"
	"github.com/wharfhq/wharf/internal/mail"
	"github.com/wharfhq/wharf/internal/names"
	"github.com/wharfhq/wharf/internal/ratelimit"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/web"
)

// Options configure a Server.
type Options struct {
	MaxUploadBytes int64
	TempDir        string // where uploads are spooled; must exist or be creatable
	Limits         conda.Limits
	// UploadIdleTimeout drops an upload whose client sends nothing for this long; default a
	// minute. It is also the start of an upload that UploadMinRate leaves out.
	UploadIdleTimeout time.Duration
	// UploadMinRate is the slowest an upload's body may arrive, in bytes a second on average
	// since it began, once its first UploadIdleTimeout is over; default 4096, negative: none.
	UploadMinRate int64
	// UploadsPerClient bounds the uploads one client address may have in progress at once;
	// default 8, negative: no bound. Past it, 429 with Retry-After.
	UploadsPerClient int
	// BodyTimeout is how long any other request's body (JSON, forms) may take to arrive;
	// default 30 s.
	BodyTimeout time.Duration
	// ConcurrentReads bounds how many uploaded packages are read at once: a .conda may
	// declare a 128 MiB zstd window, which the decoder allocates.
	ConcurrentReads int
	Logger          *slog.Logger

	// Mail sends account mail (verification, reset, invitations); nil writes it to
	// TempDir/../outbox. PublicURL is the server's address as users reach it, for links in
	// mails: never taken from a request's Host header, which a client chooses.
	Mail      mail.Sender
	PublicURL string
	// Signup is SignupClosed (default), SignupInvite or SignupOpen.
	Signup string
	// Logins limits failed sign-ins per (account, client address) and per client address;
	// nil: 10 per (account, address) then one per 30 seconds, 30 per address then one per 10
	// seconds. An account-wide limit of 100 failures an hour comes on top.
	Logins *ratelimit.Logins
	// IdentityTTL is how long a token or account may be remembered without asking the store;
	// default 5 s. Changes through this process, or announced by another through the shared
	// access epoch (polled every second), drop it sooner.
	IdentityTTL time.Duration
	// Now is the clock tokens are checked against; nil is time.Now (tests move it).
	Now func() time.Time
	// MaxTokenLifetime is the longest a token may be made or extended to live; default a year.
	MaxTokenLifetime time.Duration
	// Mails limits the requests that make the server send mail (sign-up, reset, resend) per
	// address mailed and per client; nil: 5 a day per address, 20 per client then one a minute.
	Mails *ratelimit.Logins
	// MailWorkers is how many queued account mails are made and sent at once; default 2.
	MailWorkers int
	// StoreTimeout is how long a store call made for a request (each statement, and each
	// transaction whole) may wait for the database, after which the request is answered 503
	// (store.WithCallTimeout); default 15 s, as long as SQLite waits for a lock.
	StoreTimeout time.Duration
}

// Server serves Wharf over HTTP.
type Server struct {
	store   store.Store
	blobs   blob.Store
	opts    Options
	log     *slog.Logger
	index   *indexCache
	chans   *channelMemory // channels and their index revisions, for readers
	unwatch func()
	handler http.Handler
	reads   chan struct{} // slots for package reads
	mailq   *mailQueue
	creds   *credCache
	// refreshes are the password checks made ahead of expiry, in the background.
	refreshes sync.WaitGroup
	refreshMu sync.Mutex // closing and refreshes.Add: none begins once Close waits
	closing   bool
	signins   *signins
	// unknownTokens counts requests with tokens that are not found, per client address.
	unknownTokens *ratelimit.Limiter
	ids           *identityCache
	uploads       uploadSlots // uploads in progress per client address
	table         []route
	stop          chan struct{}
	stopped       chan struct{}
	web           *web.Renderer
}

// New builds a Server over a store and a blob store.
func New(st store.Store, bl blob.Store, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxUploadBytes <= 0 {
		opts.MaxUploadBytes = 2 << 30
	}
	if opts.Limits.MaxIndexJSON == 0 {
		opts.Limits = conda.DefaultLimits()
	}
	if opts.UploadIdleTimeout <= 0 {
		opts.UploadIdleTimeout = time.Minute
	}
	if opts.UploadMinRate == 0 {
		opts.UploadMinRate = 4096
	}
	if opts.UploadsPerClient == 0 {
		opts.UploadsPerClient = 8
	}
	if opts.BodyTimeout <= 0 {
		opts.BodyTimeout = 30 * time.Second
	}
	if opts.StoreTimeout <= 0 {
		opts.StoreTimeout = 15 * time.Second
	}
	if opts.ConcurrentReads <= 0 {
		opts.ConcurrentReads = 4
	}
	if opts.TempDir == "" {
		opts.TempDir = os.TempDir()
	}
	if err := os.MkdirAll(opts.TempDir, 0o750); err != nil {
		return nil, err
	}
	if opts.Signup == "" {
		opts.Signup = SignupClosed
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.IdentityTTL <= 0 {
		opts.IdentityTTL = 5 * time.Second
	}
	if opts.MaxTokenLifetime <= 0 {
		opts.MaxTokenLifetime = 365 * 24 * time.Hour
	}
	if opts.Signup != SignupClosed && opts.Signup != SignupInvite && opts.Signup != SignupOpen {
		return nil, fmt.Errorf("sign-up mode %q: want closed, invite or open", opts.Signup)
	}
	if opts.PublicURL == "" {
		opts.PublicURL = "http://127.0.0.1:8080"
	}
	// The numbers of security.md §8: sign-ins 10 per 5 minutes per user and address, resets
	// 5 a day per address.
	if opts.Logins == nil {
		opts.Logins = ratelimit.NewLogins(ratelimit.Config{
			PerAccount: ratelimit.Limit{Burst: 10, Interval: 30 * time.Second},
			PerAddress: ratelimit.Limit{Burst: 30, Interval: 10 * time.Second},
		})
	}
	if opts.Mails == nil {
		opts.Mails = ratelimit.NewLogins(ratelimit.Config{
			PerAccount: ratelimit.Limit{Burst: 5, Interval: 24 * time.Hour / 5},
			PerAddress: ratelimit.Limit{Burst: 20, Interval: time.Minute},
		})
	}
	if opts.MailWorkers <= 0 {
		opts.MailWorkers = 2
	}
	if opts.Mail == nil {
		m, err := mail.NewOutbox(filepath.Join(filepath.Dir(filepath.Clean(opts.TempDir)), "outbox"), "", opts.Logger)
		if err != nil {
			return nil, err
		}
		opts.Mail = m
	}
	s := &Server{store: st, blobs: bl, opts: opts, log: opts.Logger, reads: make(chan struct{}, opts.ConcurrentReads),
		creds: newCredCache(5*time.Minute, 10000), signins: newSignins(opts.Logins), ids: newIdentityCache(opts.IdentityTTL),
		unknownTokens: ratelimit.NewLimiter(ratelimit.Limit{Burst: 30, Interval: 2 * time.Second}, 0),
		stop:          make(chan struct{}), stopped: make(chan struct{})}
	s.index = newIndexCache(st, s.log)
	s.chans = newChannelMemory(st, channelStaleAfter)
	s.unwatch = st.WatchChanges(s.chans.forget)
	s.mailq = newMailQueue(s.log, opts.MailWorkers, 1024)
	s.reportLookAlikes()
	var err error
	if s.web, err = web.New(); err != nil {
		return nil, fmt.Errorf("web templates: %w", err)
	}
	s.handler = s.middleware(s.routes())
	go s.background()
	return s, nil
}

// reportLookAlikes logs, at startup, each group of names from before the look-alike rule
// (store.LookAlikes): nothing renames them, so an administrator is told.
func (s *Server) reportLookAlikes() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	groups, err := s.store.LookAlikes(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "listing look-alike names failed", "err", err)
		return
	}
	for _, g := range groups {
		s.log.WarnContext(ctx, "names that differ only in case or separators share one name; other spellings find the first, the others answer only to their own",
			"names", strings.Join(g, " "), "found_by_other_spellings", g[0])
	}
}

// background writes token last-use times every half minute, not on every request, and
// watches the shared access epoch every second: a change made through another replica (a
// revocation, a removed grant) empties this one's identity cache within a second. With it,
// it polls the revisions of the channels readers asked for (channelMemory). Once, it reads
// the recipes of packages stored before recipes were read (BackfillRecipes).
func (s *Server) background() {
	defer close(s.stopped)
	// The backfill reads blobs, each read bounded as a request's would be.
	bctx, cancel := context.WithCancel(blob.WithStallTimeout(context.Background(), s.opts.StoreTimeout))
	backfilled := make(chan struct{})
	go func() { defer close(backfilled); s.backfillRecipes(bctx) }()
	defer func() { cancel(); <-backfilled }()
	flush := time.NewTicker(30 * time.Second)
	defer flush.Stop()
	watch := time.NewTicker(time.Second)
	defer watch.Stop()
	// Short calls, each with the deadline of a request's: a database that stops answering
	// must not hold this loop, nor Close, which waits for it.
	ctx := store.WithCallTimeout(context.Background(), s.opts.StoreTimeout)
	seen, _ := s.store.AccessEpoch(ctx)
	for {
		select {
		case <-flush.C:
			s.flushUsed(ctx)
		case <-watch.C:
			n, err := s.store.AccessEpoch(ctx)
			if err == nil && n != seen {
				seen = n
				s.ids.changed()
			}
			// A failed poll is not logged: the channels kept go stale and are read again,
			// by requests that report what fails.
			s.chans.poll(ctx)
		case <-s.stop:
			s.flushUsed(ctx)
			return
		}
	}
}

// Close writes what is pending (token last-use times), sends the queued account mail (for up
// to 30 seconds; what is left then is logged as not sent) and stops the background work.
// Call it after the last request has been answered.
func (s *Server) Close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
		s.unwatch()
	}
	<-s.stopped
	s.refreshMu.Lock()
	s.closing = true
	s.refreshMu.Unlock()
	s.refreshes.Wait()
	s.mailq.close(30 * time.Second)
}

// WaitMail returns once the account mail queued so far has been made and handed to the
// sender (or failed, which is logged), or with ctx's error.
func (s *Server) WaitMail(ctx context.Context) error { return s.mailq.wait(ctx) }

// Handler returns the root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// call is one request on its way through the route table.
type call struct {
	principal  access.Principal
	channel    store.Channel // set by resolvers that name a channel
	conda      condaPath     // set by the conda resolver
	newChannel api.NewChannelRequest
	org        store.Org  // set by resolvers that name an org
	file       store.File // set by resolveFile
	pkg        string     // set by resolvePackage
	pypi       pypiPath   // set by the PyPI resolvers
	form       *pypiForm  // twine's form, read by resolvePyPIUpload
	subdir     string     // the subdir an upload names
	cred       credential // what identified the principal, asked again when an upload is published
	after      []func()   // run once the answer has gone out (queueMail)

	// revs are the revisions of the channel's indexes, set by the conda and PyPI resolvers.
	revs *store.IndexRevisions
}

// route is one line of the route table: what a request must be allowed to do, and on what.
type route struct {
	method  string
	pattern string
	action  access.Action
	// resolve names the resource the action is on; nil means the server itself.
	resolve func(r *http.Request, c *call) (access.Resource, error)
	handle  func(w http.ResponseWriter, r *http.Request, c *call) error
}

func (s *Server) routes() http.Handler {
	table := []route{
		// conda channels: /conda/<channel>[/<sub>][/label/<label>]/<subdir>/<file>
		{"GET", "/conda/", access.ArtifactDownload, s.resolveConda, s.condaGet},
		{"HEAD", "/conda/", access.ArtifactDownload, s.resolveConda, s.condaGet},

		// PyPI: /pypi/<channel>[/<sub>]/simple/[<project>/], …/files/<sha256>/<file>[.metadata]
		{"GET", "/pypi/", access.ArtifactDownload, s.resolvePyPI, s.pypiGet},
		{"HEAD", "/pypi/", access.ArtifactDownload, s.resolvePyPI, s.pypiGet},
		{"POST", "/pypi/", access.ArtifactCreate, s.resolvePyPIUpload, s.pypiUpload},

		// REST API. Channel names travel as one path segment: "acme%2Fdev" for a subchannel.
		{"GET", "/api/v1/user", access.UserView, nil, s.apiWhoami},
		{"GET", "/api/v1/channels", access.ChannelList, nil, s.apiListChannels},
		{"POST", "/api/v1/channels", access.ChannelCreate, s.resolveNewChannel, s.apiCreateChannel},
		{"GET", "/api/v1/channels/{channel}", access.ChannelView, s.resolveChannel, s.apiShowChannel},
		{"GET", "/api/v1/channels/{channel}/files", access.ChannelView, s.resolveChannel, s.apiListFiles},
		{"PUT", "/api/v1/channels/{channel}/files/{filename}", access.ArtifactCreate, s.resolveUpload, s.apiUpload},
		{"GET", "/api/v1/channels/{channel}/files/{subdir}/{filename}", access.ArtifactDownload, s.resolveFile, s.apiShowFile},
		{"DELETE", "/api/v1/channels/{channel}/files/{subdir}/{filename}", access.ArtifactDelete, s.resolveFile, s.apiRemoveFile},
		{"POST", "/api/v1/channels/{channel}/copy", access.ArtifactEdit, s.resolveChannel, s.apiCopy},
		{"GET", "/api/v1/channels/{channel}/labels", access.ChannelView, s.resolveChannel, s.apiLabels},
		{"GET", "/api/v1/channels/{channel}/history", access.ChannelHistory, s.resolveChannel, s.apiHistory},
		{"PATCH", "/api/v1/channels/{channel}", access.ChannelManage, s.resolveChannel, s.apiUpdateChannel},
		{"DELETE", "/api/v1/channels/{channel}", access.ChannelDelete, s.resolveChannel, s.apiDeleteChannel},
		{"PATCH", "/api/v1/channels/{channel}/packages/{package}", access.PackageManage, s.resolvePackage, s.apiUpdatePackage},
		{"PATCH", "/api/v1/channels/{channel}/files/{subdir}/{filename}", access.ArtifactEdit, s.resolveFile, s.apiYankFile},
		{"PATCH", "/api/v1/channels/{channel}/packages/{package}/releases/{version}", access.ArtifactEdit, s.resolvePackage, s.apiYankRelease},

		// Accounts. Answers of sign-up and reset never tell whether an account exists.
		{"POST", "/api/v1/signup", access.Anyone, nil, s.apiSignup},
		{"POST", "/api/v1/account/verify", access.Anyone, nil, s.apiVerify},
		{"POST", "/api/v1/account/verify/resend", access.Anyone, nil, s.apiResendVerification},
		{"POST", "/api/v1/password-reset", access.Anyone, nil, s.apiPasswordReset},
		{"POST", "/api/v1/password-reset/confirm", access.Anyone, nil, s.apiPasswordResetConfirm},
		{"PUT", "/api/v1/user/password", access.UserView, nil, s.apiChangePassword},
		{"GET", "/api/v1/users", access.AdminUsers, nil, s.apiListUsers},
		{"POST", "/api/v1/users", access.AdminUsers, nil, s.apiCreateUser},
		{"PATCH", "/api/v1/users/{user}", access.AdminUsers, nil, s.apiUpdateUser},
		{"POST", "/api/v1/invites", access.AdminUsers, nil, s.apiInvite},

		// Organizations and their groups.
		{"POST", "/api/v1/orgs", access.OrgCreate, nil, s.apiCreateOrg},
		{"GET", "/api/v1/orgs/{org}", access.OrgView, s.resolveOrg, s.apiShowOrg},
		{"GET", "/api/v1/orgs/{org}/history", access.OrgView, s.resolveOrg, s.apiOrgHistory},
		{"PUT", "/api/v1/orgs/{org}/members/{user}", access.OrgManage, s.resolveOrg, s.apiSetMember},
		{"DELETE", "/api/v1/orgs/{org}/members/{user}", access.OrgManage, s.resolveOrg, s.apiRemoveMember},
		{"GET", "/api/v1/orgs/{org}/groups", access.OrgView, s.resolveOrg, s.apiGroups},
		{"POST", "/api/v1/orgs/{org}/groups", access.OrgManage, s.resolveOrg, s.apiCreateGroup},
		{"DELETE", "/api/v1/orgs/{org}/groups/{group}", access.OrgManage, s.resolveOrg, s.apiDeleteGroup},
		{"PUT", "/api/v1/orgs/{org}/groups/{group}/members/{user}", access.OrgManage, s.resolveOrg, s.apiAddGroupMember},
		{"DELETE", "/api/v1/orgs/{org}/groups/{group}/members/{user}", access.OrgManage, s.resolveOrg, s.apiRemoveGroupMember},
		{"PUT", "/api/v1/orgs/{org}/groups/{group}/grants", access.OrgManage, s.resolveOrg, s.apiSetGrant},
		{"DELETE", "/api/v1/orgs/{org}/groups/{group}/grants", access.OrgManage, s.resolveOrg, s.apiRemoveGrant},

		// Access tokens.
		{"GET", "/api/v1/scopes", access.Anyone, nil, s.apiScopes},
		{"GET", "/api/v1/version", access.Anyone, nil, s.apiVersion},
		{"POST", "/api/v1/tokens", access.TokenEdit, nil, s.apiCreateToken},
		{"GET", "/api/v1/tokens", access.TokenView, nil, s.apiListTokens},
		{"GET", "/api/v1/tokens/current", access.Anyone, nil, s.apiCurrentToken},
		{"PATCH", "/api/v1/tokens/{token}", access.TokenEdit, nil, s.apiEditToken},
		{"DELETE", "/api/v1/tokens/{token}", access.TokenEdit, nil, s.apiRemoveToken},

		{"GET", "/api/v1/openapi.json", access.Anyone, nil, s.apiOpenAPI},

		// The web UI: pages for people, who are identified by the session cookie, which is read
		// on these routes only. Forms POST; nothing changes on GET.
		{"GET", "/{$}", access.Anyone, nil, s.pageHome},
		{"GET", "/login", access.Anyone, nil, s.pageLogin},
		{"POST", "/login", access.Anyone, nil, s.pageLoginPost},
		{"POST", "/logout", access.Anyone, nil, s.pageLogoutPost},
		{"GET", "/signup", access.Anyone, nil, s.pageSignup},
		{"POST", "/signup", access.Anyone, nil, s.pageSignupPost},
		{"GET", "/account/verify", access.Anyone, nil, s.pageVerify}, // mailed links open these two
		{"POST", "/account/verify", access.Anyone, nil, s.pageVerifyPost},
		{"POST", "/account/verify/resend", access.Anyone, nil, s.pageResendPost},
		{"GET", "/account/reset", access.Anyone, nil, s.pageReset},
		{"POST", "/account/reset", access.Anyone, nil, s.pageResetPost},
		{"GET", "/settings", access.UserView, nil, s.pageSettings},
		{"POST", "/settings/password", access.UserView, nil, s.pageChangePassword},
		{"POST", "/settings/sessions/{id}/end", access.UserView, nil, s.pageEndSession},
		{"POST", "/settings/sessions/end-others", access.UserView, nil, s.pageEndOtherSessions},

		// Browsing and channel settings.
		{"GET", "/users/{user}", access.Anyone, nil, s.pageUser}, // shows what the viewer may see
		{"POST", "/channels", access.ChannelCreate, s.resolveWebNewChannel, s.pageCreateChannel},
		{"GET", "/channels/{channel}", access.ChannelView, s.resolveChannel, s.pageChannel},
		{"GET", "/channels/{channel}/packages/{package}", access.ArtifactDownload, s.resolvePackage, s.pagePackage}, // missing and unreadable: the same 404
		{"GET", "/channels/{channel}/files/{subdir}/{filename}", access.ArtifactDownload, s.resolveFile, s.pageDownload},
		{"POST", "/channels/{channel}/packages/{package}/privacy", access.PackageManage, s.resolvePackage, s.pagePackagePrivacy},
		{"GET", "/channels/{channel}/history", access.ChannelHistory, s.resolveChannel, s.pageChannelHistory},
		{"GET", "/channels/{channel}/settings", access.ChannelManage, s.resolveChannel, s.pageChannelSettings},
		{"POST", "/channels/{channel}/settings/privacy", access.ChannelManage, s.resolveChannel, s.pageChannelPrivacy},
		{"POST", "/channels/{channel}/subchannels", access.ChannelCreate, s.resolveWebSubchannel, s.pageCreateSubchannel},
		{"POST", "/channels/{channel}/delete", access.ChannelDelete, s.resolveChannel, s.pageDeleteChannel},
		// Bulk privacy: the pages list and change only packages the viewer may manage
		// (access.PackageManage, asked per package).
		{"GET", "/channels/{channel}/access", access.ChannelView, s.resolveChannel, s.pagePackageAccess},
		{"POST", "/channels/{channel}/access", access.ChannelView, s.resolveChannel, s.pagePackageAccessPost},

		// Organizations and groups.
		{"GET", "/orgs", access.UserView, nil, s.pageOrgs},
		{"POST", "/orgs", access.OrgCreate, nil, s.pageCreateOrg},
		{"GET", "/orgs/{org}", access.Anyone, s.resolveOrg, s.pageOrg}, // members and groups only for those with org:view
		{"POST", "/orgs/{org}/members", access.OrgManage, s.resolveOrg, s.pageSetMember},
		{"POST", "/orgs/{org}/members/{user}/remove", access.OrgManage, s.resolveOrg, s.pageRemoveMember},
		{"POST", "/orgs/{org}/groups", access.OrgManage, s.resolveOrg, s.pageCreateGroup},
		{"GET", "/orgs/{org}/groups/{group}", access.OrgView, s.resolveOrg, s.pageGroup},
		{"POST", "/orgs/{org}/groups/{group}/delete", access.OrgManage, s.resolveOrg, s.pageDeleteGroup},
		{"POST", "/orgs/{org}/groups/{group}/members", access.OrgManage, s.resolveOrg, s.pageAddGroupMember},
		{"POST", "/orgs/{org}/groups/{group}/members/{user}/remove", access.OrgManage, s.resolveOrg, s.pageRemoveGroupMember},
		{"POST", "/orgs/{org}/groups/{group}/grants", access.OrgManage, s.resolveOrg, s.pageSetGrant},
		{"POST", "/orgs/{org}/groups/{group}/grants/remove", access.OrgManage, s.resolveOrg, s.pageRemoveGrant},

		// Tokens.
		{"GET", "/tokens", access.TokenView, nil, s.pageTokens},
		{"GET", "/tokens/new", access.TokenEdit, nil, s.pageNewToken},
		{"POST", "/tokens", access.TokenEdit, nil, s.pageCreateToken},
		{"POST", "/tokens/{token}/rename", access.TokenEdit, nil, s.pageRenameToken},
		{"POST", "/tokens/{token}/extend", access.TokenEdit, nil, s.pageExtendToken},
		{"POST", "/tokens/{token}/reissue", access.TokenEdit, nil, s.pageReissueToken},
		{"POST", "/tokens/{token}/revoke", access.TokenEdit, nil, s.pageRevokeToken},

		// Administration.
		{"GET", "/admin", access.AdminUsers, nil, s.pageAdmin},
		{"POST", "/admin/users", access.AdminUsers, nil, s.pageAdminCreateUser},
		{"POST", "/admin/users/{user}/disable", access.AdminUsers, nil, s.pageAdminDisableUser},
		{"POST", "/admin/users/{user}/enable", access.AdminUsers, nil, s.pageAdminEnableUser},
		{"POST", "/admin/invites", access.AdminUsers, nil, s.pageAdminInvite},
		{"POST", "/admin/signup", access.AdminUsers, nil, s.pageAdminSignup},
		{"POST", "/admin/mail-test", access.AdminUsers, nil, s.pageAdminMailTest},
	}
	s.table = table
	mux := http.NewServeMux()
	for _, rt := range table {
		mux.Handle(rt.method+" "+rt.pattern, s.serveRoute(rt))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if _, err := s.store.AccessEpoch(ctx); err != nil { // one row: the store answers
			w.Header().Set("Retry-After", strconv.Itoa(int(unavailableRetry.Seconds())))
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /static/", s.web.Static())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if surfaceOf(r.URL.Path) != "web" {
			s.writeError(w, r, errNotFound("no such page"))
			return
		}
		c := &call{}
		if _, ok := pathToken(r.Context()); !ok {
			c.principal, r, _ = s.identifySession(w, r)
		}
		s.writePageError(w, r, c, errNotFound("There is no such page."))
	})
	// Cross-site form posts are refused (by Sec-Fetch-Site, or Origin against Host): browsers
	// send those headers, and conda, pip and twine send neither, so they pass.
	cop := http.NewCrossOriginProtection()
	if u, err := url.Parse(s.opts.PublicURL); err == nil && u.Host != "" {
		cop.AddTrustedOrigin(u.Scheme + "://" + u.Host)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errForbidden("cross-origin request refused: a form of another site may not act on this server"))
	}))
	return cop.Handler(mux)
}

// serveRoute is the one request path: principal, resource, policy, handler.
func (s *Server) serveRoute(rt route) http.Handler {
	surface := surfaceOf(rt.pattern)
	accessChanging := changesAccess(rt)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isUpload(rt) {
			release, err := s.beginUpload(w, r)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			defer release()
		}
		c := &call{}
		err := func() error {
			var p access.Principal
			var err error
			if surface == "web" {
				if _, ok := pathToken(r.Context()); ok {
					return errNotFound("no such page") // pages are never served under a token URL
				}
				// A page knows people by their session only: a browser may have Basic
				// credentials for this host cached, and sends them unasked.
				p, r, err = s.identifySession(w, r)
			} else {
				p, c.cred, err = s.identifyCredential(r)
			}
			if err != nil {
				return err
			}
			if p.Token != nil {
				t := *p.Token // cached tokens are shared: the surface is this request's
				t.Surface = surface
				p.Token = &t
			}
			c.principal = p
			var res access.Resource
			if rt.resolve != nil {
				if res, err = rt.resolve(r, c); err != nil {
					return err
				}
			}
			if res.Surface == "" {
				res.Surface = surface
			}
			if !access.May(p, rt.action, res) {
				return refuse(p, rt.action, res)
			}
			write := r.Method != http.MethodGet && r.Method != http.MethodHead && accessChanging
			if write && !p.Anonymous() {
				// Any change may be to who may do what: what is remembered of accounts and
				// tokens is dropped before and after it, so the next request sees it even if
				// this one's answer went out before the handler returned.
				s.ids.changed()
			}
			sw := &statusWriter{ResponseWriter: w}
			err = rt.handle(sw, r, c)
			// Pages answer a refused form themselves, with a 4xx page and no error: only an
			// answer below 400 made a change. Visitors' failed forms must not cost every
			// replica its caches.
			changed := err == nil && sw.status < 400
			if write && changed {
				s.ids.changed()
			}
			// Tell the other replicas of changes to who may do what; detached, since the
			// change is made whatever the client does now.
			if write && changed {
				if berr := s.store.BumpAccessEpoch(context.WithoutCancel(r.Context())); berr != nil {
					s.warn(r.Context(), "telling other replicas of a change failed", "err", berr)
				}
			}
			return err
		}()
		if err != nil && surface == "web" {
			s.writePageError(w, r, c, err)
		} else if err != nil {
			s.writeError(w, r, err)
		}
		afterAnswer(w, c)
	})
}

// afterAnswer sends the answer on its way, then runs what the handler left for after it.
func afterAnswer(w http.ResponseWriter, c *call) {
	if len(c.after) == 0 {
		return
	}
	http.NewResponseController(w).Flush() // the work runs whether or not this works
	for _, fn := range c.after {
		fn()
	}
}

// changesAccess says whether a route's writes may change who may do what (accounts, grants,
// tokens, privacy), so that what is remembered of accounts and tokens must be forgotten, here
// and on the other replicas. Uploads and file edits do not, and are the frequent writes; nor do
// signing in and out.
func changesAccess(rt route) bool {
	switch rt.action {
	case access.ArtifactCreate, access.ArtifactEdit, access.ArtifactDelete:
		return false
	}
	return rt.pattern != "/login" && rt.pattern != "/logout"
}

// refuse turns a "no" from the policy into the answer that leaks nothing: 404 for what the
// caller may not know exists, 401 for an anonymous caller, 403 otherwise, saying who may.
func refuse(p access.Principal, action access.Action, res access.Resource) error {
	if res.Channel != "" && !access.Knows(p, res) {
		// Word for word what a channel that does not exist gets.
		return &store.NotFoundError{Kind: "channel", Name: res.Channel}
	}
	if p.Anonymous() {
		return errUnauthorized("sign in: send a username and password with HTTP Basic, or a token")
	}
	if p.Token != nil {
		if msg := tokenRefusal(p.Token, action); msg != "" {
			return errForbidden(msg)
		}
		return errForbidden("this token may not do this: its scopes or channels do not allow it, or its owner may not")
	}
	return errForbidden(whoMay(action, res))
}

// tokenRefusal says why a token may not list or change tokens, which its owner always may:
// its channel limits or its scopes, and what to use instead. "" for other actions.
func tokenRefusal(t *access.TokenLimits, action access.Action) string {
	var what string
	switch action {
	case access.TokenEdit:
		what = "making, changing or revoking tokens"
	case access.TokenView:
		what = "listing tokens"
	default:
		return ""
	}
	instead := "sign in with your password instead (wharf: --username NAME with WHARF_PASSWORD)"
	if t.Resources != nil && action == access.TokenEdit {
		return "a token limited to channels (--resource) makes, changes and revokes no tokens: " + instead +
			", or with a token that has no channel limits and may (wharf login)"
	}
	if len(t.Scopes) == 0 {
		return ""
	}
	var allow []string
	for _, sc := range access.Scopes {
		if slices.Contains(sc.Actions, action) {
			allow = append(allow, sc.Name)
		}
	}
	return "this token's scopes (" + strings.Join(t.Scopes, " ") + ") do not allow " + what + ", which takes one of " +
		strings.Join(allow, ", ") + ": " + instead + ", or with a token that has one (wharf login --scopes …)"
}

// refuseRead answers a request for a package p may not read: refused (403) when only the
// token's scopes stand in the way, since its owner may read it; else missing, in the words
// of one that is not there.
func refuseRead(p access.Principal, res access.Resource, missing error) error {
	if access.KnowsPackage(p, res) {
		return refuse(p, access.ArtifactDownload, res)
	}
	return missing
}

// whoMay says, for a refusal, who may do an action: what the caller can ask for.
func whoMay(action access.Action, res access.Resource) string {
	switch {
	case action == access.AdminUsers:
		return "only server administrators may do this"
	case action == access.OrgManage || action == access.ChannelCreate && res.Org != 0:
		return "only the organization's owners may do this"
	case action == access.OrgView:
		return "only the organization's members may see this"
	case res.Package != "" && action == access.PackageManage:
		return fmt.Sprintf("only managers of package %s in channel %s may change it: ask the channel's owner", res.Package, res.Channel)
	case res.Channel != "" && (action == access.ArtifactCreate || action == access.ArtifactEdit || action == access.ArtifactDelete):
		return fmt.Sprintf("you may not change the files of channel %s: ask its owner for write access", res.Channel)
	case res.Channel != "" && action == access.ArtifactDownload:
		return fmt.Sprintf("you may not download from channel %s: ask its owner for read access", res.Channel)
	case res.Channel != "":
		return fmt.Sprintf("only managers of channel %s may do this: ask its owner", res.Channel)
	}
	return "you may not do this"
}

func resourceOf(ch store.Channel) access.Resource {
	return access.Resource{Channel: ch.Name, ChannelID: ch.ID, ParentID: ch.ParentID, Private: private(ch),
		OwnerUserID: ch.OwnerUserID, OwnerOrgID: ch.OwnerOrgID}
}

// fileResource is the package a stored file belongs to, with its kind.
func fileResource(ch store.Channel, f store.File) access.Resource {
	r := packageResource(ch, f.Package, f.PackagePrivate)
	r.Kind = f.Kind
	return r
}

// packageResource is a package of a channel.
func packageResource(ch store.Channel, pkg string, pkgPrivate bool) access.Resource {
	r := resourceOf(ch)
	r.Package, r.PackagePrivate = pkg, pkgPrivate
	return r
}

// private reports whether a channel is private by itself or through its parent.
func private(ch store.Channel) bool { return ch.Private || ch.ParentPrivate }

// channelByName looks a channel up by its name or another spelling of it (names.Key: the
// store finds the one channel that holds the name); a name that no channel can have is not
// found without a trip to the store (and never reaches the database as bytes it would
// refuse).
func (s *Server) channelByName(ctx context.Context, name string) (store.Channel, error) {
	if names.Lookup(name) != nil {
		return store.Channel{}, &store.NotFoundError{Kind: "channel", Name: name}
	}
	return s.store.ChannelByName(ctx, name)
}

// channelFor is channelByName for what p asked: a channel found under another spelling of
// its name that p may not know of is not found under the spelling asked, word for word as a
// channel that does not exist (a refusal would name the channel as it is spelt). Everything
// after the look-up (access.May, the handler) works on the channel found, never on the name.
func (s *Server) channelFor(ctx context.Context, p access.Principal, name string) (store.Channel, error) {
	ch, err := s.channelByName(ctx, name)
	if err == nil && ch.Name != name && !access.Knows(p, resourceOf(ch)) {
		return store.Channel{}, &store.NotFoundError{Kind: "channel", Name: name}
	}
	return ch, err
}

// channelForRead is channelFor for the conda and PyPI indexes, with the revisions of the
// channel's indexes: from memory while nothing changed (channelMemory).
func (s *Server) channelForRead(ctx context.Context, p access.Principal, name string) (store.Channel, *store.IndexRevisions, error) {
	k, err := s.chans.lookup(ctx, name, s.channelByName)
	if err != nil {
		return store.Channel{}, nil, err
	}
	if k.ch.Name != name && !access.Knows(p, resourceOf(k.ch)) {
		return store.Channel{}, nil, &store.NotFoundError{Kind: "channel", Name: name}
	}
	return k.ch, &k.revs, nil
}

func (s *Server) resolveChannel(r *http.Request, c *call) (access.Resource, error) {
	ch, err := s.channelFor(r.Context(), c.principal, r.PathValue("channel"))
	if err != nil {
		return access.Resource{}, err
	}
	c.channel = ch
	return resourceOf(ch), nil
}

// surfaceOf tells which face of the server a route is: the REST API, a conda channel or a
// PyPI index. Token scopes tell them apart.
func surfaceOf(pattern string) string {
	switch {
	case strings.HasPrefix(pattern, "/conda/"):
		return "conda"
	case strings.HasPrefix(pattern, "/pypi/"):
		return "pypi"
	case strings.HasPrefix(pattern, "/api/"):
		return "api"
	default:
		return "web"
	}
}
