package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestExactReaderAcceptsExactlySize(t *testing.T) {
	data := []byte("0123456789")
	for name, r := range map[string]func() io.Reader{
		"plain":         func() io.Reader { return bytes.NewReader(data) },
		"one byte":      func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) },
		"half":          func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) },
		"EOF with data": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) },
	} {
		er := newExactReader(t.Context(), r(), int64(len(data)))
		got, err := io.ReadAll(er)
		if err != nil || !bytes.Equal(got, data) || !er.done() {
			t.Errorf("%s: read %q, %v, done %v; want all of it", name, got, err, er.done())
		}
	}
	er := newExactReader(t.Context(), strings.NewReader(""), 0)
	if got, err := io.ReadAll(er); err != nil || len(got) != 0 || !er.done() {
		t.Errorf("empty: %q, %v", got, err)
	}
}

func TestExactReaderRejectsWrongSizes(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		size int64
	}{
		{"short", "012345678", 10},
		{"long", "0123456789a", 10},
		{"empty but expected", "", 1},
		{"non-empty but expected empty", "x", 0},
	} {
		got, err := io.ReadAll(newExactReader(t.Context(), iotest.OneByteReader(strings.NewReader(tc.body)), tc.size))
		if !errors.Is(err, ErrSizeMismatch) {
			t.Errorf("%s: err = %v; want ErrSizeMismatch", tc.name, err)
		}
		// The last byte is what lets a consumer commit; a wrong body never gets that far.
		if int64(len(got)) >= tc.size && tc.size > 0 {
			t.Errorf("%s: handed out %d bytes of a %d-byte body before failing", tc.name, len(got), tc.size)
		}
	}
}

func TestExactReaderStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	er := newExactReader(ctx, strings.NewReader("0123456789"), 10)
	buf := make([]byte, 3)
	if _, err := er.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := er.Read(buf); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read after cancel = %v; want context.Canceled", err)
	}
}
