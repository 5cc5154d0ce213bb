package server

import "net/http"

func (s *Server) pageOrgs(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageCreateOrg(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageOrg(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageSetMember(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageRemoveMember(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageCreateGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageDeleteGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageAddGroupMember(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageRemoveGroupMember(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageSetGrant(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}

func (s *Server) pageRemoveGrant(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound("not built yet")
}
