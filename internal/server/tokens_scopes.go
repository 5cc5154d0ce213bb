package server

import (
	"strconv"

	"github.com/wharfhq/wharf/internal/access"
)

// errUnknownScope refuses a scope name that is not one, with the one it most likely meant
// (the API and the web's token form both take scope names).
func errUnknownScope(name string) error {
	msg := "unknown scope " + strconv.Quote(name) + ": "
	if near := access.NearestScope(name); near != "" {
		msg += "did you mean " + strconv.Quote(near) + "? "
	}
	return errBadRequest(msg + "GET /api/v1/scopes lists them")
}
