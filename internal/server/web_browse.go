package server

import (
	"net/http"

	"github.com/wharfhq/wharf/internal/access"
)

func (s *Server) pageHome(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageUser(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageCreateChannel(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageChannel(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pagePackage(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pagePackagePrivacy(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageChannelHistory(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageChannelSettings(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageChannelPrivacy(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageCreateSubchannel(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pagePackageAccess(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pagePackageAccessPost(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) resolveWebNewChannel(r *http.Request, c *call) (access.Resource, error) {
	return access.Resource{}, errNotFound("not built yet")
}

func (s *Server) resolveWebSubchannel(r *http.Request, c *call) (access.Resource, error) {
	return access.Resource{}, errNotFound("not built yet")
}

func (s *Server) resolvePackageView(r *http.Request, c *call) (access.Resource, error) {
	return access.Resource{}, errNotFound("not built yet")
}
