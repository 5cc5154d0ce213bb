package conda

import "fmt"

// InvalidPackageError is returned by ReadPackage for anything wrong with the uploaded file itself:
// the uploader caused it, so a server answers 400 (or 413) with Error() as the message.
type InvalidPackageError struct {
	Reason string
}

func (e *InvalidPackageError) Error() string { return "invalid package: " + e.Reason }

func invalidf(format string, args ...any) error {
	return &InvalidPackageError{Reason: fmt.Sprintf(format, args...)}
}

// InvalidFilenameError is returned by ParseFilename for a name that is not
// <name>-<version>-<build>.conda or .tar.bz2 with valid parts.
type InvalidFilenameError struct {
	Filename string
	Reason   string
}

func (e *InvalidFilenameError) Error() string {
	return fmt.Sprintf("invalid package filename %q: %s", e.Filename, e.Reason)
}
