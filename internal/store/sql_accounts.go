package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/access"
	"github.com/wharfhq/wharf/internal/names"
	"github.com/wharfhq/wharf/internal/pypi"
)

// ---- users

func (s *sqlStore) userByEmail(ctx context.Context, db queryer, email string) (User, error) {
	u, err := scanUser(s.row(ctx, db, `SELECT `+userCols+` FROM users WHERE lower(email) = lower(?) AND email <> ''`, email))
	if errors.Is(err, sql.ErrNoRows) {
		return u, &NotFoundError{Kind: "user with email", Name: email}
	}
	return u, err
}

func (s *sqlStore) UserByEmail(ctx context.Context, email string) (User, error) {
	return s.userByEmail(ctx, s.r, email)
}

func (s *sqlStore) ListUsers(ctx context.Context) ([]User, error) {
	return queryRows(ctx, s, s.r, scanUser, `SELECT `+userCols+` FROM users ORDER BY name`)
}

func (s *sqlStore) UpdateUser(ctx context.Context, id int64, up UserUpdate) (User, error) {
	var u User
	err := s.write(ctx, func(tx *sql.Tx) error {
		var set assignments
		if up.PasswordHash != nil {
			set.set("password_hash", *up.PasswordHash)
			set.set("password_changed_at", now())
		}
		if up.EmailVerified != nil {
			set.set("email_verified", *up.EmailVerified)
		}
		if up.Disabled != nil {
			set.set("disabled", *up.Disabled)
		}
		if up.Admin != nil {
			set.set("is_admin", *up.Admin)
		}
		var err error
		u, err = scanUser(s.updateRow(ctx, tx, "users", id, &set, userCols))
		if errors.Is(err, sql.ErrNoRows) {
			return &NotFoundError{Kind: "user", Name: strconv.FormatInt(id, 10)}
		}
		if err != nil {
			return err
		}
		if up.PasswordHash != nil {
			// A reset link mailed before the change must not work after it.
			if _, err := s.exec(ctx, tx, `DELETE FROM email_tokens WHERE user_id = ? AND purpose = 'reset'`, id); err != nil {
				return err
			}
		}
		// A new password or a disabled account ends every browser session: whoever held the
		// old password may have signed in with it.
		if up.PasswordHash != nil || (up.Disabled != nil && *up.Disabled) {
			if _, err := s.exec(ctx, tx, `DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
				return err
			}
		}
		return nil
	})
	return u, err
}

func (s *sqlStore) RehashPassword(ctx context.Context, id int64, old, new string) (bool, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?`, new, id, old)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n > 0, err
}

// ---- mailed links

func (s *sqlStore) CreateEmailToken(ctx context.Context, t EmailToken) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		// Expired links are dead weight; clear them as new ones are made.
		if _, err := s.exec(ctx, tx, `DELETE FROM email_tokens WHERE expires_at < ?`, now()); err != nil {
			return err
		}
		_, err := s.exec(ctx, tx, `INSERT INTO email_tokens (token_hash, purpose, user_id, email, created_by, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			t.Hash, t.Purpose, nullID(t.UserID), t.Email, nullID(t.CreatedBy), t.ExpiresAt.UnixMicro(), now())
		return err
	})
}

func (s *sqlStore) UseEmailToken(ctx context.Context, purpose, hash string, at time.Time) (EmailToken, error) {
	var t EmailToken
	found := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		var user, by sql.NullInt64
		var exp, created int64
		// Deleted as it is read: two requests with one link cannot both use it.
		err := s.row(ctx, tx, `DELETE FROM email_tokens WHERE token_hash = ? AND purpose = ? RETURNING token_hash, purpose, user_id, email, created_by, expires_at, created_at`,
			hash, purpose).Scan(&t.Hash, &t.Purpose, &user, &t.Email, &by, &exp, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		t.UserID, t.CreatedBy, t.ExpiresAt, t.CreatedAt = user.Int64, by.Int64, fromMicros(exp), fromMicros(created)
		return nil
	})
	if err != nil {
		return EmailToken{}, err
	}
	if !found || at.After(t.ExpiresAt) {
		return EmailToken{}, &NotFoundError{Kind: "link", Name: purpose}
	}
	return t, nil
}

// ---- orgs

const orgCols = `id, name, created_at`

func scanOrg(sc scanner) (Org, error) {
	var o Org
	var created int64
	err := sc.Scan(&o.ID, &o.Name, &created)
	o.CreatedAt = fromMicros(created)
	return o, err
}

// orgEvent records an event in an org's history.
func (s *sqlStore) orgEvent(ctx context.Context, tx *sql.Tx, orgID, actorID int64, action string, detail any) error {
	return s.record(ctx, tx, "org_events", "org_id", orgID, actorID, action, detail)
}

func (s *sqlStore) CreateOrg(ctx context.Context, name string, ownerID int64) (Org, error) {
	var o Org
	err := s.writeName(ctx, func(tx *sql.Tx) error {
		if err := s.nameFree(ctx, tx, name); err != nil {
			return err
		}
		t := now()
		var err error
		o, err = scanOrg(s.row(ctx, tx, `INSERT INTO orgs (name, created_at) VALUES (?, ?) RETURNING `+orgCols, name, t))
		if s.d.isUnique(err) {
			return &ConflictError{Kind: "org", Name: name, Reason: "the name is taken"}
		}
		if err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO org_members (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`, o.ID, ownerID, RoleOwner, t); err != nil {
			return err
		}
		if _, err := s.insertChannel(ctx, tx, NewChannel{Name: name, OwnerOrgID: o.ID, ActorID: ownerID}, nil); err != nil {
			return err
		}
		return s.orgEvent(ctx, tx, o.ID, ownerID, "org.create", map[string]any{"name": name})
	})
	return o, err
}

func (s *sqlStore) OrgByName(ctx context.Context, name string) (Org, error) {
	o, err := scanOrg(s.row(ctx, s.r, `SELECT `+orgCols+` FROM orgs WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) && !strings.Contains(name, "/") {
		// Another spelling: the org whose channel holds the name's key.
		o, err = scanOrg(s.row(ctx, s.r, `SELECT `+orgCols+` FROM orgs WHERE name = (`+topLevelHolder+`)`, names.Key(name)))
	}
	if errors.Is(err, sql.ErrNoRows) {
		return o, &NotFoundError{Kind: "organization", Name: name}
	}
	return o, err
}

func (s *sqlStore) OrgByID(ctx context.Context, id int64) (Org, error) {
	return s.orgByID(ctx, s.r, id)
}

func (s *sqlStore) orgByID(ctx context.Context, db queryer, id int64) (Org, error) {
	o, err := scanOrg(s.row(ctx, db, `SELECT `+orgCols+` FROM orgs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return o, &NotFoundError{Kind: "organization", Name: strconv.FormatInt(id, 10)}
	}
	return o, err
}

func (s *sqlStore) userName(ctx context.Context, tx *sql.Tx, id int64) (string, error) {
	var name string
	err := s.row(ctx, tx, `SELECT name FROM users WHERE id = ?`, id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", &NotFoundError{Kind: "user", Name: strconv.FormatInt(id, 10)}
	}
	return name, err
}

// lastOwner reports whether userID is the only owner of the org. It first locks the org's row
// (a no-op update), so that two owners removing each other at once are serialized and the
// second sees the first's change.
func (s *sqlStore) lastOwner(ctx context.Context, tx *sql.Tx, orgID, userID int64) (bool, error) {
	if _, err := s.exec(ctx, tx, `UPDATE orgs SET name = name WHERE id = ?`, orgID); err != nil {
		return false, err
	}
	var owners, self int64
	err := s.row(ctx, tx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN user_id = ? THEN 1 ELSE 0 END), 0) FROM org_members WHERE org_id = ? AND role = 'owner'`,
		userID, orgID).Scan(&owners, &self)
	return owners == 1 && self == 1, err
}

func (s *sqlStore) SetOrgMember(ctx context.Context, orgID, userID int64, role string, actorID int64) error {
	if role != RoleOwner && role != RoleMember {
		return fmt.Errorf("store: unknown org role %q", role)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		name, err := s.userName(ctx, tx, userID)
		if err != nil {
			return err
		}
		if role == RoleMember {
			last, err := s.lastOwner(ctx, tx, orgID, userID)
			if err != nil {
				return err
			}
			if last {
				return &ConflictError{Kind: "owner", Name: name, Reason: "the last owner of an organization cannot step down; make someone else an owner first"}
			}
		}
		var old string
		err = s.row(ctx, tx, `SELECT role FROM org_members WHERE org_id = ? AND user_id = ?`, orgID, userID).Scan(&old)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if old == role {
			return nil
		}
		if old == "" {
			_, err = s.exec(ctx, tx, `INSERT INTO org_members (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`, orgID, userID, role, now())
		} else {
			_, err = s.exec(ctx, tx, `UPDATE org_members SET role = ? WHERE org_id = ? AND user_id = ?`, role, orgID, userID)
		}
		if err != nil {
			return err
		}
		return s.orgEvent(ctx, tx, orgID, actorID, "member.set", map[string]any{"user": name, "role": role, "was": old})
	})
}

func (s *sqlStore) RemoveOrgMember(ctx context.Context, orgID, userID, actorID int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		name, err := s.userName(ctx, tx, userID)
		if err != nil {
			return err
		}
		last, err := s.lastOwner(ctx, tx, orgID, userID)
		if err != nil {
			return err
		}
		if last {
			return &ConflictError{Kind: "owner", Name: name, Reason: "the last owner of an organization cannot be removed; make someone else an owner first"}
		}
		res, err := s.exec(ctx, tx, `DELETE FROM org_members WHERE org_id = ? AND user_id = ?`, orgID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &NotFoundError{Kind: "member", Name: name}
		}
		if _, err := s.exec(ctx, tx, `DELETE FROM group_members WHERE user_id = ? AND group_id IN (SELECT id FROM groups WHERE org_id = ?)`, userID, orgID); err != nil {
			return err
		}
		return s.orgEvent(ctx, tx, orgID, actorID, "member.remove", map[string]any{"user": name})
	})
}

func (s *sqlStore) OrgMembers(ctx context.Context, orgID int64) ([]Member, error) {
	return queryRows(ctx, s, s.r, func(sc scanner) (Member, error) {
		var m Member
		var confirmed bool
		err := sc.Scan(&m.UserID, &m.Name, &m.Role, &confirmed)
		m.Unconfirmed = !confirmed
		return m, err
	}, `SELECT u.id, u.name, m.role, u.email_verified FROM org_members m JOIN users u ON u.id = m.user_id WHERE m.org_id = ? ORDER BY u.name`, orgID)
}

func (s *sqlStore) UserOrgs(ctx context.Context, userID int64) ([]OrgRole, error) {
	return queryRows(ctx, s, s.r, func(sc scanner) (OrgRole, error) {
		var r OrgRole
		err := sc.Scan(&r.Org, &r.Role)
		return r, err
	}, `SELECT o.name, m.role FROM org_members m JOIN orgs o ON o.id = m.org_id WHERE m.user_id = ? ORDER BY o.name`, userID)
}

// ---- groups and grants

func (s *sqlStore) groupID(ctx context.Context, tx *sql.Tx, orgID int64, name string) (int64, error) {
	var id int64
	err := s.row(ctx, tx, `SELECT id FROM groups WHERE org_id = ? AND name = ?`, orgID, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, &NotFoundError{Kind: "group", Name: name}
	}
	return id, err
}

func (s *sqlStore) CreateGroup(ctx context.Context, orgID int64, name string, actorID int64) (Group, error) {
	g := Group{OrgID: orgID, Name: name, Members: []string{}, Grants: []Grant{}}
	err := s.write(ctx, func(tx *sql.Tx) error {
		err := s.row(ctx, tx, `INSERT INTO groups (org_id, name, created_at) VALUES (?, ?, ?) RETURNING id`, orgID, name, now()).Scan(&g.ID)
		if s.d.isUnique(err) {
			return &ConflictError{Kind: "group", Name: name, Reason: "the organization has a group of that name"}
		}
		if err != nil {
			return err
		}
		return s.orgEvent(ctx, tx, orgID, actorID, "group.create", map[string]any{"group": name})
	})
	return g, err
}

func (s *sqlStore) DeleteGroup(ctx context.Context, orgID int64, name string, actorID int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		id, err := s.groupID(ctx, tx, orgID, name)
		if err != nil {
			return err
		}
		// Each channel that loses a grant records it in its own history.
		type cg struct {
			ch  int64
			pkg string
		}
		var lost []cg
		if err := s.eachRow(ctx, tx, func(rows *sql.Rows) error {
			var g cg
			if err := rows.Scan(&g.ch, &g.pkg); err != nil {
				return err
			}
			lost = append(lost, g)
			return nil
		}, `SELECT channel_id, package FROM grants WHERE group_id = ?`, id); err != nil {
			return err
		}
		for _, g := range lost {
			if err := s.event(ctx, tx, g.ch, actorID, "grant.remove", grantDetail(name, g.pkg, access.None)); err != nil {
				return err
			}
		}
		if _, err := s.exec(ctx, tx, `DELETE FROM groups WHERE id = ?`, id); err != nil {
			return err
		}
		return s.orgEvent(ctx, tx, orgID, actorID, "group.delete", map[string]any{"group": name})
	})
}

func (s *sqlStore) Groups(ctx context.Context, orgID int64) ([]Group, error) {
	out := []Group{}
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = queryRows(ctx, s, tx, func(sc scanner) (Group, error) {
			g := Group{OrgID: orgID, Members: []string{}, Grants: []Grant{}}
			err := sc.Scan(&g.ID, &g.Name)
			return g, err
		}, `SELECT id, name FROM groups WHERE org_id = ? ORDER BY name`, orgID)
		if err != nil {
			return err
		}
		byID := map[int64]int{}
		for i, g := range out {
			byID[g.ID] = i
		}
		if err := s.eachRow(ctx, tx, func(rows *sql.Rows) error {
			var id int64
			var name string
			var confirmed bool
			if err := rows.Scan(&id, &name, &confirmed); err != nil {
				return err
			}
			g := &out[byID[id]]
			g.Members = append(g.Members, name)
			if !confirmed {
				g.Unconfirmed = append(g.Unconfirmed, name)
			}
			return nil
		}, `SELECT gm.group_id, u.name, u.email_verified FROM group_members gm JOIN groups g ON g.id = gm.group_id JOIN users u ON u.id = gm.user_id
			WHERE g.org_id = ? ORDER BY u.name`, orgID); err != nil {
			return err
		}
		return s.eachRow(ctx, tx, func(rows *sql.Rows) error {
			var gr Grant
			if err := rows.Scan(&gr.GroupID, &gr.ChannelID, &gr.Channel, &gr.Package, &gr.Level); err != nil {
				return err
			}
			gr.LevelName = gr.Level.String()
			out[byID[gr.GroupID]].Grants = append(out[byID[gr.GroupID]].Grants, gr)
			return nil
		}, `SELECT gr.group_id, gr.channel_id, c.name, gr.package, gr.level FROM grants gr JOIN groups g ON g.id = gr.group_id JOIN channels c ON c.id = gr.channel_id
			WHERE g.org_id = ? ORDER BY c.name, gr.package`, orgID)
	})
	return out, err
}

func (s *sqlStore) AddGroupMember(ctx context.Context, orgID int64, group string, userID, actorID int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		gid, err := s.groupID(ctx, tx, orgID, group)
		if err != nil {
			return err
		}
		name, err := s.userName(ctx, tx, userID)
		if err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO org_members (org_id, user_id, role, created_at) VALUES (?, ?, 'member', ?) ON CONFLICT (org_id, user_id) DO NOTHING`, orgID, userID, now()); err != nil {
			return err
		}
		res, err := s.exec(ctx, tx, `INSERT INTO group_members (group_id, user_id) VALUES (?, ?) ON CONFLICT (group_id, user_id) DO NOTHING`, gid, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return s.orgEvent(ctx, tx, orgID, actorID, "group.member.add", map[string]any{"group": group, "user": name})
	})
}

func (s *sqlStore) RemoveGroupMember(ctx context.Context, orgID int64, group string, userID, actorID int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		gid, err := s.groupID(ctx, tx, orgID, group)
		if err != nil {
			return err
		}
		name, err := s.userName(ctx, tx, userID)
		if err != nil {
			return err
		}
		res, err := s.exec(ctx, tx, `DELETE FROM group_members WHERE group_id = ? AND user_id = ?`, gid, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &NotFoundError{Kind: "group member", Name: name}
		}
		return s.orgEvent(ctx, tx, orgID, actorID, "group.member.remove", map[string]any{"group": group, "user": name})
	})
}

func grantDetail(group, pkg string, level access.Level) map[string]any {
	d := map[string]any{"group": group}
	if pkg != "" {
		d["package"] = pkg
	}
	if level != access.None {
		d["level"] = level.String()
	}
	return d
}

// packageGrantKeys are the keys a grant on package pkg of channel ch is filed under: pkg as
// stored, and its spelling as each kind spells names, so that a grant reaches the package it
// names whatever spelling it was given in (Yankee_Lib: the conda package yankee_lib and the
// Python project yankee-lib). Grants stored as typed by earlier versions are read so too.
func packageGrantKeys(ch int64, pkg string) []ChannelPackage {
	return []ChannelPackage{
		{ChannelID: ch, Package: pkg},
		{ChannelID: ch, Package: strings.ToLower(pkg), Kind: "conda"}, // conda names are lowercase
		{ChannelID: ch, Package: pypi.NormalizeName(pkg), Kind: "pypi"},
	}
}

// grantPackage is how a grant's package is stored: lowercase, which both kinds' names ignore
// the case of.
func grantPackage(pkg string) string { return strings.ToLower(pkg) }

func (s *sqlStore) SetGrant(ctx context.Context, orgID int64, group string, channelID int64, pkg string, level access.Level, actorID int64) error {
	if level < access.Read || level > access.Manage {
		return fmt.Errorf("store: invalid level %d", level)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		gid, err := s.groupID(ctx, tx, orgID, group)
		if err != nil {
			return err
		}
		pkg = grantPackage(pkg)
		// The grant replaces one on another case of the name (stored as typed before), which
		// would otherwise keep its level.
		if _, err := s.exec(ctx, tx, `DELETE FROM grants WHERE group_id = ? AND channel_id = ? AND lower(package) = ? AND package <> ?`, gid, channelID, pkg, pkg); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO grants (group_id, channel_id, package, level, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (group_id, channel_id, package) DO UPDATE SET level = excluded.level`, gid, channelID, pkg, int(level), now()); err != nil {
			return err
		}
		return s.event(ctx, tx, channelID, actorID, "grant.set", grantDetail(group, pkg, level))
	})
}

func (s *sqlStore) RemoveGrant(ctx context.Context, orgID int64, group string, channelID int64, pkg string, actorID int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		gid, err := s.groupID(ctx, tx, orgID, group)
		if err != nil {
			return err
		}
		pkg = grantPackage(pkg) // in any case, as stored before or now
		res, err := s.exec(ctx, tx, `DELETE FROM grants WHERE group_id = ? AND channel_id = ? AND lower(package) = ?`, gid, channelID, pkg)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &NotFoundError{Kind: "grant", Name: group}
		}
		return s.event(ctx, tx, channelID, actorID, "grant.remove", grantDetail(group, pkg, access.None))
	})
}

func (s *sqlStore) GrantsOf(ctx context.Context, userID int64) (Grants, error) {
	var g Grants
	// A grant set cut short by a read error would be remembered as the user's whole: every
	// row or nothing, from one snapshot.
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		g, err = s.grantsOf(ctx, tx, userID, "")
		return err
	})
	return g, err
}

// grantsOf reads a user's org roles and grants; lock is the dialect's forShare in a write
// transaction that must keep them until its commit.
func (s *sqlStore) grantsOf(ctx context.Context, db queryer, userID int64, lock string) (Grants, error) {
	g := Grants{OrgRoles: map[int64]string{}, Channels: map[int64]access.Level{}, Packages: map[ChannelPackage]access.Level{}}
	if err := s.eachRow(ctx, db, func(rows *sql.Rows) error {
		var id int64
		var role string
		if err := rows.Scan(&id, &role); err != nil {
			return err
		}
		g.OrgRoles[id] = role
		return nil
	}, `SELECT org_id, role FROM org_members WHERE user_id = ?`+lock, userID); err != nil {
		return g, err
	}
	// The highest level of a user's groups, taken here rather than with MAX: row locks go
	// with no aggregate.
	err := s.eachRow(ctx, db, func(rows *sql.Rows) error {
		var ch int64
		var pkg string
		var level access.Level
		if err := rows.Scan(&ch, &pkg, &level); err != nil {
			return err
		}
		if pkg == "" {
			g.Channels[ch] = max(g.Channels[ch], level)
		} else {
			for _, k := range packageGrantKeys(ch, pkg) {
				g.Packages[k] = max(g.Packages[k], level)
			}
		}
		return nil
	}, `SELECT gr.channel_id, gr.package, gr.level FROM grants gr JOIN group_members gm ON gm.group_id = gr.group_id
		WHERE gm.user_id = ?`+lock, userID)
	return g, err
}

// ---- privacy

func (s *sqlStore) SetChannelPrivate(ctx context.Context, channelID int64, private bool, actorID int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		// The revision moves too: what is cached for the channel carries its privacy.
		if err := s.bump(ctx, tx, channelID); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `UPDATE channels SET private = ? WHERE id = ?`, private, channelID); err != nil {
			return err
		}
		if err := s.touchAll(ctx, tx, channelID); err != nil {
			return err
		}
		// Subchannels inherit the privacy: what is cached for them must be rebuilt too.
		t := now()
		subs, err := queryRows(ctx, s, tx, scanValue[int64], `UPDATE channels SET revision = revision + 1, indexed_revision = revision + 1,
			index_floor = revision + 1, index_floor_at = ?, updated_at = ? WHERE parent_id = ? RETURNING id`, t, t, channelID)
		if err != nil {
			return err
		}
		for _, sub := range subs {
			s.feed.changed(tx, sub)
		}
		return s.event(ctx, tx, channelID, actorID, "channel.privacy", map[string]any{"private": private})
	})
}

func (s *sqlStore) PackagePrivacy(ctx context.Context, channelID int64, pkg string) (bool, error) {
	var n, priv int64
	err := s.row(ctx, s.r, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN private THEN 1 ELSE 0 END), 0) FROM packages WHERE channel_id = ? AND name = ?`, channelID, pkg).Scan(&n, &priv)
	if err != nil {
		return false, err
	}
	if n == 0 {
		return false, &NotFoundError{Kind: "package", Name: pkg}
	}
	return priv > 0, nil
}

func (s *sqlStore) PackageKinds(ctx context.Context, channelID int64, pkg string) ([]string, error) {
	return queryRows(ctx, s, s.r, scanValue[string], `SELECT DISTINCT kind FROM packages WHERE channel_id = ? AND name = ? ORDER BY kind`, channelID, pkg)
}

func (s *sqlStore) PrivatePackages(ctx context.Context, channelID int64) ([]string, error) {
	return s.privatePackages(ctx, s.r, channelID)
}

func (s *sqlStore) privatePackages(ctx context.Context, db queryer, channelID int64) ([]string, error) {
	return queryRows(ctx, s, db, scanValue[string], `SELECT DISTINCT name FROM packages WHERE channel_id = ? AND private ORDER BY name`, channelID)
}

// ---- org history

func (s *sqlStore) OrgEvents(ctx context.Context, orgID int64, limit int) ([]Event, error) {
	return s.history(ctx, "org_events", "org_id", orgID, limit)
}
