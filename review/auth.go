package review

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	"paperchart/audit"
	"paperchart/users"
)

type loginData struct {
	Name    string
	Next    string
	Message string // why the last attempt failed, in plain words
	Bye     bool   // just signed out
	Expired bool   // sent here by an ended session
}

// safeNext keeps a post-sign-in destination on the workstation.
func safeNext(next string) string {
	n := users.SafeNext(next, "/review/")
	if !strings.HasPrefix(n, "/review/") || strings.HasPrefix(n, "/review/login") {
		return "/review/"
	}
	return n
}

func (a *app) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, ok := users.FromContext(r.Context()); ok {
		redirect(w, r, next)
		return
	}
	d := loginData{Next: next, Bye: r.URL.Query().Has("bye"), Expired: r.URL.Query().Has("next") && next != "/review/"}
	a.render(w, r, http.StatusOK, "login.html", a.view(r, "Sign in", "", "login", d))
}

// login signs a person in. The form carries no CSRF token (there is no
// session yet); the session cookie is SameSite=Strict, and a post whose
// Origin names another site is refused.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		a.errorPage(w, r, http.StatusForbidden, "Forbidden", "Sign in from paperchart's own sign-in page.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		a.errorPage(w, r, http.StatusBadRequest, "Bad request", "The sign-in form could not be read.")
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	password := r.PostForm.Get("password")
	d := loginData{Name: name, Next: safeNext(r.PostForm.Get("next"))}
	if name == "" || password == "" {
		d.Message = "Enter your name and your password."
		a.render(w, r, http.StatusUnauthorized, "login.html", a.view(r, "Sign in", "", "login", d))
		return
	}
	u, err := a.Users.Authenticate(r.Context(), name, password, remoteIP(r))
	switch {
	case errors.Is(err, users.ErrRateLimited):
		// Counted per address and minute, not one entry each.
		if a.Audit != nil {
			if aerr := a.Audit.Denied(detached(r.Context()), remoteIP(r), "signin.limited", ""); aerr != nil {
				a.log.Error("audit sign-in", "err", aerr)
			}
		}
		d.Message = "Too many sign-in attempts from this computer. Wait a minute and try again."
		a.render(w, r, http.StatusTooManyRequests, "login.html", a.view(r, "Sign in", "", "login", d))
		return
	case errors.Is(err, users.ErrLocked) || errors.Is(err, users.ErrBadCredentials) || errors.Is(err, users.ErrNotFound):
		why := "wrong name or password"
		if errors.Is(err, users.ErrLocked) {
			why = "locked after repeated failures"
		}
		a.recordSignInFailure(r, name, why)
	}
	switch {
	case errors.Is(err, users.ErrLocked):
		d.Message = "Too many failed sign-ins with this name from this computer. Wait a few minutes and try again, or ask an administrator to unlock it."
		a.render(w, r, http.StatusTooManyRequests, "login.html", a.view(r, "Sign in", "", "login", d))
		return
	case errors.Is(err, users.ErrBadCredentials), errors.Is(err, users.ErrNotFound):
		d.Message = "Wrong name or password."
		a.render(w, r, http.StatusUnauthorized, "login.html", a.view(r, "Sign in", "", "login", d))
		return
	case err != nil:
		a.fail(w, r, "sign in", err)
		return
	}
	// A new session replaces whatever the browser had.
	if err := a.Sessions.End(w, r); err != nil {
		a.log.Warn("end previous session", "err", err)
	}
	if _, err := a.Sessions.Start(r.Context(), w, u); err != nil {
		if errors.Is(err, users.ErrBadCredentials) || errors.Is(err, users.ErrNotFound) {
			d.Message = "Wrong name or password."
			a.render(w, r, http.StatusUnauthorized, "login.html", a.view(r, "Sign in", "", "login", d))
			return
		}
		a.fail(w, r, "start session", err)
		return
	}
	if err := a.record(r, audit.Entry{Actor: audit.UserActor(u.Name), Action: audit.ActionSignInOK}); err != nil {
		a.log.Error("audit sign-in", "err", err)
	}
	redirect(w, r, d.Next)
}

// recordSignInFailure audits a failed sign-in under the user's name when
// the name typed is a user's, else under a hash of it (unknown:…): a
// password typed into the name field is not kept.
func (a *app) recordSignInFailure(r *http.Request, typed, why string) {
	if a.Audit == nil {
		return
	}
	name, known, err := a.Users.AttemptName(r.Context(), typed)
	if err != nil {
		a.log.Error("audit sign-in", "err", err)
		return
	}
	actor := name
	if known {
		actor = audit.UserActor(name)
	}
	if err := a.record(r, audit.Entry{Actor: actor, Action: audit.ActionSignInFail, Outcome: audit.OutcomeDenied, Detail: why}); err != nil {
		a.log.Error("audit sign-in", "err", err)
	}
}

func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	if err := a.Sessions.End(w, r); err != nil {
		a.fail(w, r, "sign out", err)
		return
	}
	redirect(w, r, "/review/login?bye")
}

// sameOrigin reports whether a form post came from this site: browsers send
// Origin on posts; a request without one (a script, a test) is let through,
// since it carries no victim's cookies.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
