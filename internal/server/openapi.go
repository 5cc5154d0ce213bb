package server

import (
	_ "embed"
	"net/http"
)

// openapiJSON documents the REST API. TestOpenAPICoversTheRouteTable keeps it and the route
// table in step.
//
//go:embed openapi/openapi.json
var openapiJSON []byte

func (s *Server) apiOpenAPI(w http.ResponseWriter, r *http.Request, c *call) error {
	serveBytes(w, r, "application/json", `"openapi-`+etagOf(openapiJSON)+`"`, "public, max-age=300", startTime, openapiJSON)
	return nil
}

// RouteInfo is one line of the route table: what it serves and the action it needs.
type RouteInfo struct {
	Method, Pattern string
	Action          string
}

// Routes lists the route table, for documentation and its tests.
func (s *Server) Routes() []RouteInfo {
	out := make([]RouteInfo, 0, len(s.table))
	for _, rt := range s.table {
		out = append(out, RouteInfo{rt.method, rt.pattern, string(rt.action)})
	}
	return out
}
