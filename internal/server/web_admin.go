package server

import "net/http"

func (s *Server) pageAdmin(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageAdminCreateUser(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageAdminDisableUser(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageAdminEnableUser(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageAdminInvite(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageAdminSignup(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageAdminMailTest(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}
