package review

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"paperchart/users"
)

type adminData struct {
	Users   []users.User
	Roles   []users.Role
	Me      string
	Message string // what the last change did, or why it failed
	Failed  bool
	Name    string // the add form's name, kept after a failure
	Role    users.Role
}

var allRoles = []users.Role{users.Indexer, users.Supervisor, users.Admin}

// adminUsers lists the accounts, with forms to add one, change a role and
// disable or enable an account.
func (a *app) adminUsers(w http.ResponseWriter, r *http.Request) {
	a.renderUsers(w, r, http.StatusOK, adminData{Message: flashUser(r.URL.Query())})
}

func (a *app) renderUsers(w http.ResponseWriter, r *http.Request, code int, d adminData) {
	us, err := a.Users.List(r.Context())
	if err != nil {
		a.fail(w, r, "list users", err)
		return
	}
	d.Users, d.Roles, d.Me = us, allRoles, user(r)
	if d.Role == "" {
		d.Role = users.Indexer
	}
	a.render(w, r, code, "admin_users.html", a.view(r, "Users", "admin", "admin", d))
}

func flashUser(q url.Values) string {
	name := q.Get("name")
	if len(name) > 64 {
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
	}
	return ""
}

func (a *app) addUser(w http.ResponseWriter, r *http.Request) {
	if !a.parseForm(w, r) {
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	ro, err := users.ParseRole(r.PostForm.Get("role"))
	d := adminData{Failed: true, Name: name, Role: ro}
	if err != nil {
		d.Message = "Pick a role: indexer, supervisor or admin."
		a.renderUsers(w, r, http.StatusUnprocessableEntity, d)
		return
	}
	u, err := a.Users.Add(r.Context(), name, ro, r.PostForm.Get("password"))
	switch {
	case errors.Is(err, users.ErrExists):
		d.Message = "There is already a user of that name."
		a.renderUsers(w, r, http.StatusConflict, d)
	case errors.Is(err, users.ErrWeakPassword):
		d.Message = "The password is too short: use at least 12 characters."
		a.renderUsers(w, r, http.StatusUnprocessableEntity, d)
	case errors.Is(err, users.ErrBadName):
		d.Message = "A user name is 1 to 64 lower-case letters, digits, dots, dashes or underscores."
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
	name := r.PostForm.Get("name")
	disable := r.PostForm.Get("disabled") != "0"
	if disable && name == user(r) {
		a.renderUsers(w, r, http.StatusUnprocessableEntity, adminData{Failed: true, Message: "You cannot disable yourself."})
		return
	}
	err := a.Users.SetDisabled(r.Context(), name, disable)
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
	name := r.PostForm.Get("name")
	ro, err := users.ParseRole(r.PostForm.Get("role"))
	if err != nil {
		a.renderUsers(w, r, http.StatusUnprocessableEntity, adminData{Failed: true, Message: "Pick a role: indexer, supervisor or admin."})
		return
	}
	if name == user(r) && ro != users.Admin {
		a.renderUsers(w, r, http.StatusUnprocessableEntity, adminData{Failed: true, Message: "You cannot take the admin role from yourself."})
		return
	}
	err = a.Users.SetRole(r.Context(), name, ro)
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
