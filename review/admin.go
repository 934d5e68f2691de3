package review

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"paperchart/audit"
	"paperchart/users"
)

type adminData struct {
	Users   []users.User
	Roles   []users.Role
	Locks   []users.Lock
	Me      string
	Message string // what the last change did, or why it failed
	Failed  bool
	Name    string // the add form's name, kept after a failure
	Role    users.Role
}

// adminUsers lists the accounts, with forms to add one, change a role,
// disable or enable an account, and the names locked after failed
// sign-ins with a button to unlock each.
func (a *app) adminUsers(w http.ResponseWriter, r *http.Request) {
	a.renderUsers(w, r, http.StatusOK, adminData{})
}

func (a *app) renderUsers(w http.ResponseWriter, r *http.Request, code int, d adminData) {
	us, err := a.Users.List(r.Context())
	if err != nil {
		a.fail(w, r, "list users", err)
		return
	}
	if d.Locks, err = a.Users.Locks(r.Context()); err != nil {
		a.fail(w, r, "list sign-in locks", err)
		return
	}
	d.Users, d.Roles, d.Me = us, users.Roles, user(r)
	if d.Role == "" {
		d.Role = users.Indexer
	}
	if d.Message == "" && r.Method == http.MethodGet {
		d.Message = flashUser(r.URL.Query(), us)
	}
	a.render(w, r, code, "admin_users.html", a.view(r, "Users", "admin", "admin", d))
}

// flashUser says what the change a redirect reports did. It names only a
// user who exists: a link cannot make the page say anything else.
func flashUser(q url.Values, us []users.User) string {
	name := q.Get("name")
	if !slices.ContainsFunc(us, func(u users.User) bool { return u.Name == name }) {
		return ""
	}
	switch {
	case q.Has("added"):
		return "Added " + name + "."
	case q.Has("disabled"):
		return "Disabled " + name + ": their sessions are ended."
	case q.Has("enabled"):
		return "Enabled " + name + "."
	case q.Has("role"):
		return "Changed the role of " + name + "."
	case q.Has("unlocked"):
		return "Unlocked " + name + ": they can sign in again."
	}
	return ""
}

// isMe reports whether a name typed in a form is the signed-in user's,
// as users reads names: trimmed, in any case.
func isMe(r *http.Request, name string) bool {
	return strings.EqualFold(strings.TrimSpace(name), user(r))
}

func (a *app) addUser(w http.ResponseWriter, r *http.Request) {
	if !a.parseForm(w, r) {
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	ro, err := users.ParseRole(r.PostForm.Get("role"))
	d := adminData{Failed: true, Name: name, Role: ro}
	if err != nil {
		d.Message = "Pick a role: indexer, records, supervisor or admin."
		a.renderUsers(w, r, http.StatusUnprocessableEntity, d)
		return
	}
	u, err := a.Users.Add(r.Context(), name, ro, r.PostForm.Get("password"), a.adminHooks(r, audit.ActionUserAdd, name, "role "+string(ro))...)
	switch {
	case errors.Is(err, users.ErrExists):
		d.Message = "There is already a user of that name."
		a.renderUsers(w, r, http.StatusConflict, d)
	case errors.Is(err, users.ErrWeakPassword):
		d.Message = "The password is too short: use at least 12 characters."
		a.renderUsers(w, r, http.StatusUnprocessableEntity, d)
	case errors.Is(err, users.ErrBadName):
		d.Message = "A user name is 1 to 64 lower-case letters, digits, dots, dashes or underscores, and not one paperchart uses itself (auto, system, api...)."
		a.renderUsers(w, r, http.StatusUnprocessableEntity, d)
	case err != nil:
		a.fail(w, r, "add user", err)
	default:
		a.log.Info("user added", "user", u.Name, "role", u.Role, "by", user(r))
		redirect(w, r, "/review/admin/users?added&name="+url.QueryEscape(u.Name))
	}
}

func (a *app) disableUser(w http.ResponseWriter, r *http.Request) {
	if !a.parseForm(w, r) {
		return
	}
	name := strings.ToLower(strings.TrimSpace(r.PostForm.Get("name")))
	disable := r.PostForm.Get("disabled") != "0"
	if disable && isMe(r, name) {
		a.renderUsers(w, r, http.StatusUnprocessableEntity, adminData{Failed: true, Message: "You cannot disable yourself."})
		return
	}
	action := audit.ActionUserEnable
	if disable {
		action = audit.ActionUserDisable
	}
	err := a.Users.SetDisabled(r.Context(), name, disable, a.adminHooks(r, action, name, "")...)
	switch {
	case errors.Is(err, users.ErrNotFound):
		a.renderUsers(w, r, http.StatusNotFound, adminData{Failed: true, Message: "There is no such user."})
	case err != nil:
		a.fail(w, r, "disable user", err)
	default:
		a.log.Info("user disabled", "user", name, "disabled", disable, "by", user(r))
		what := "enabled"
		if disable {
			what = "disabled"
		}
		redirect(w, r, "/review/admin/users?"+what+"&name="+url.QueryEscape(name))
	}
}

func (a *app) setRole(w http.ResponseWriter, r *http.Request) {
	if !a.parseForm(w, r) {
		return
	}
	name := strings.ToLower(strings.TrimSpace(r.PostForm.Get("name")))
	ro, err := users.ParseRole(r.PostForm.Get("role"))
	if err != nil {
		a.renderUsers(w, r, http.StatusUnprocessableEntity, adminData{Failed: true, Message: "Pick a role: indexer, records, supervisor or admin."})
		return
	}
	if isMe(r, name) && ro != users.Admin {
		a.renderUsers(w, r, http.StatusUnprocessableEntity, adminData{Failed: true, Message: "You cannot take the admin role from yourself."})
		return
	}
	err = a.Users.SetRole(r.Context(), name, ro, a.adminHooks(r, audit.ActionUserRole, name, string(ro))...)
	switch {
	case errors.Is(err, users.ErrNotFound):
		a.renderUsers(w, r, http.StatusNotFound, adminData{Failed: true, Message: "There is no such user."})
	case err != nil:
		a.fail(w, r, "set role", err)
	default:
		a.log.Info("user role changed", "user", name, "role", ro, "by", user(r))
		redirect(w, r, "/review/admin/users?role&name="+url.QueryEscape(name))
	}
}

// unlockUser forgets a user's failed sign-ins at every address.
func (a *app) unlockUser(w http.ResponseWriter, r *http.Request) {
	if !a.parseForm(w, r) {
		return
	}
	name := strings.ToLower(strings.TrimSpace(r.PostForm.Get("name")))
	err := a.Users.Unlock(r.Context(), name, a.adminHooks(r, audit.ActionUserUnlock, name, "")...)
	switch {
	case errors.Is(err, users.ErrNotFound):
		a.renderUsers(w, r, http.StatusNotFound, adminData{Failed: true, Message: "There is no such user."})
	case err != nil:
		a.fail(w, r, "unlock user", err)
	default:
		a.log.Info("user unlocked", "user", name, "by", user(r))
		redirect(w, r, "/review/admin/users?unlocked&name="+url.QueryEscape(name))
	}
}
