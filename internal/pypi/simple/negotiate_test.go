package simple_test

import (
	"testing"

	"github.com/wharfhq/wharf/internal/pypi/simple"
)

const (
	jsonCT = "application/vnd.pypi.simple.v1+json"
	vndCT  = "application/vnd.pypi.simple.v1+html"
	textCT = "text/html; charset=utf-8"
)

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name, accept string
		format       simple.Format
		contentType  string // "" = not acceptable
	}{
		// What real clients send.
		{"pip 22.2 and later", "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01", simple.JSON, jsonCT},
		{"pip, newer header", "application/vnd.pypi.simple.v1+json, text/html;q=0.2, application/vnd.pypi.simple.v1+html;q=0.2", simple.JSON, jsonCT},
		{"uv", "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01", simple.JSON, jsonCT},
		{"pip before 22.2", "text/html", simple.HTML, textCT},
		{"firefox", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", simple.HTML, textCT},
		{"chrome", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7", simple.HTML, textCT},
		{"curl", "*/*", simple.HTML, textCT},
		{"no header", "", simple.HTML, textCT},
		{"blank header", " \t ", simple.HTML, textCT},
		{"nothing parses", "garbage", simple.HTML, textCT},

		// PEP 691 types and aliases.
		{"v1 json only", "application/vnd.pypi.simple.v1+json", simple.JSON, jsonCT},
		{"latest json answered as v1", "application/vnd.pypi.simple.latest+json", simple.JSON, jsonCT},
		{"v1 html only", "application/vnd.pypi.simple.v1+html", simple.HTML, vndCT},
		{"latest html only", "application/vnd.pypi.simple.latest+html", simple.HTML, vndCT},
		{"text/html with charset", "text/html;charset=utf-8", simple.HTML, textCT},
		{"text/*", "text/*", simple.HTML, textCT},
		{"application/* ties, HTML wins, text/html not accepted", "application/*", simple.HTML, vndCT},

		// Choosing HTML: text/html whenever it is accepted at all.
		{"vnd html preferred but text/html accepted", "application/vnd.pypi.simple.v1+html, text/html;q=0.01", simple.HTML, textCT},
		{"pip with json refused", "application/vnd.pypi.simple.v1+json;q=0, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01", simple.HTML, textCT},
		{"text/html refused, wildcard", "text/html;q=0, */*", simple.HTML, vndCT},

		// q-values and ties.
		{"equal q, HTML wins as on PyPI", "text/html, application/vnd.pypi.simple.v1+html, application/vnd.pypi.simple.v1+json", simple.HTML, textCT},
		{"q decides over order", "text/html;q=0.01, application/vnd.pypi.simple.v1+html;q=0.2, application/vnd.pypi.simple.v1+json", simple.JSON, jsonCT},
		{"low q on json honoured", "application/vnd.pypi.simple.v1+json;q=0.1, text/html", simple.HTML, textCT},
		{"named json beats wildcard html at equal q", "application/vnd.pypi.simple.v1+json, */*", simple.JSON, jsonCT},
		{"json excluded from wildcard", "*/*, application/vnd.pypi.simple.v1+json;q=0", simple.HTML, textCT},
		{"latest+json excluded from wildcard", "application/vnd.pypi.simple.latest+json;q=0, */*", simple.HTML, textCT},
		{"v1 refusal beats latest acceptance", "application/vnd.pypi.simple.v1+json;q=0, application/vnd.pypi.simple.latest+json", simple.HTML, ""},
		{"three-digit q", "application/vnd.pypi.simple.v1+json;q=0.000, text/html;q=0.001", simple.HTML, textCT},
		{"case-insensitive", "APPLICATION/VND.PYPI.SIMPLE.V1+JSON; Q=0.5, Text/HTML;q=0.4", simple.JSON, jsonCT},
		{"parameters before q", "application/vnd.pypi.simple.v1+json;charset=utf-8;q=0.9, text/html;q=0.5", simple.JSON, jsonCT},
		{"quoted comma in a parameter", `application/vnd.pypi.simple.v1+json;x="a,b;q=0";q=0.9, text/html;q=0.5`, simple.JSON, jsonCT},
		{"accept-ext after q ignored", "application/vnd.pypi.simple.v1+json;q=0.9;ext=1, text/html;q=0.5", simple.JSON, jsonCT},
		{"invalid q drops the range", "application/vnd.pypi.simple.v1+json;q=2, text/html;q=0.5", simple.HTML, textCT},
		{"non-numeric q drops the range", "application/vnd.pypi.simple.v1+json;q=high, text/html;q=0.5", simple.HTML, textCT},
		{"empty elements", ", ,application/vnd.pypi.simple.v1+json,,", simple.JSON, jsonCT},
		{"unicode lookalikes are not ASCII", "applİcation/vnd.pypi.simple.v1+json, application/json", simple.HTML, ""},

		// Nothing acceptable: 406.
		{"application/json only", "application/json", simple.HTML, ""},
		{"json and plain text", "application/json, text/plain;q=0.5", simple.HTML, ""},
		{"everything refused", "*/*;q=0", simple.HTML, ""},
		{"v1 json refused", "application/vnd.pypi.simple.v1+json;q=0", simple.HTML, ""},
		{"all three refused", "text/html;q=0, application/vnd.pypi.simple.v1+html;q=0, application/vnd.pypi.simple.v1+json;q=0", simple.HTML, ""},
		{"refused despite wildcard", "text/html;q=0, application/vnd.pypi.simple.v1+html;q=0, application/vnd.pypi.simple.v1+json;q=0, */*", simple.HTML, ""},
		{"a future major version", "application/vnd.pypi.simple.v2+json", simple.HTML, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ct, ok := simple.Negotiate(tt.accept)
			if ok != (tt.contentType != "") || ct != tt.contentType || ok && f != tt.format {
				t.Errorf("Negotiate(%q) = %v, %q, %v; want %v, %q, %v",
					tt.accept, f, ct, ok, tt.format, tt.contentType, tt.contentType != "")
			}
		})
	}
}
