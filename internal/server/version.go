package server

import (
	"net/http"

	"github.com/wharfhq/wharf/internal/version"
)

// apiVersion says which Wharf answers (GET /api/v1/version): what wharf version says.
func (s *Server) apiVersion(w http.ResponseWriter, r *http.Request, c *call) error {
	return writeJSON(w, http.StatusOK, version.Get())
}
