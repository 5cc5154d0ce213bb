package server

import "net/http"

func (s *Server) pageTokens(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageNewToken(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageCreateToken(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageRenameToken(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageExtendToken(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageReissueToken(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageRevokeToken(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}
