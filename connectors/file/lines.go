package file

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
)

// nextLine finds the first complete line in b, as Kafka's FileStreamSource
// does: a line ends at "\n", "\r\n" or a lone "\r". It returns the line
// without its terminator and how many bytes it used including the
// terminator, or ok=false when b holds no complete line yet.
//
// A "\r" at the very end of b is not yet a terminator: the next byte,
// perhaps not written yet, may be the "\n" of a "\r\n". A last line without
// a terminator is never complete either: the writer may still be writing it.
func nextLine(b []byte) (line []byte, n int, ok bool) {
	nl := bytes.IndexByte(b, '\n')
	search := b
	if nl >= 0 {
		search = b[:nl]
	}
	if cr := bytes.IndexByte(search, '\r'); cr >= 0 {
		switch {
		case cr+1 == len(b):
			return nil, 0, false // "\r" or "\r\n"? Wait for the next byte.
		case b[cr+1] == '\n':
			return b[:cr], cr + 2, true
		default:
			return b[:cr], cr + 1, true
		}
	}
	if nl < 0 {
		return nil, 0, false
	}
	return b[:nl], nl + 1, true
}

// lineNumberAt returns the 1-based number of the line that starts at byte
// pos of the file, counting terminators the way nextLine does. Offsets
// store only a byte position (as Kafka's do), so the number is recounted
// from the start of the file; it is used only for error messages.
func lineNumberAt(path string, pos int64) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(io.LimitReader(f, pos+1), 64<<10)
	line := int64(1)
	prevCR := false
	for i := int64(0); i < pos; i++ {
		c, err := r.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("count lines: %w", err)
		}
		switch {
		case c == '\n' && prevCR: // the "\n" of a "\r\n" counted at the "\r"
		case c == '\n' || c == '\r':
			line++
		}
		prevCR = c == '\r'
	}
	return line, nil
}
