package pypi

import (
	"fmt"
	"strconv"
)

// InvalidDistError is returned for anything wrong with an uploaded distribution or its filename:
// the uploader caused it, so a server answers 400 with Error() as the message. Reason says what
// is wrong and, where it is not obvious, what to do about it.
type InvalidDistError struct {
	Filename string // as given, possibly invalid itself
	Reason   string
}

func (e *InvalidDistError) Error() string {
	return "invalid distribution " + quoteShort(e.Filename) + ": " + e.Reason
}

func invalidf(filename, format string, args ...any) error {
	return &InvalidDistError{Filename: filename, Reason: fmt.Sprintf(format, args...)}
}

// quoteShort quotes s for a message, cut to a length that keeps the message readable: names in
// errors come from uploads and may be arbitrarily long.
func quoteShort(s string) string {
	const max = 100
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}
