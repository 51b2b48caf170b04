package webhdfstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// noFollow returns 307s to the caller, as a client doing the two steps by
// hand needs.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type result struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, c *http.Client, method, u string, body io.Reader) result {
	t.Helper()
	r, err := try(c, method, u, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	return r
}

// try is do for goroutines other than the test's.
func try(c *http.Client, method, u string, body io.Reader) (result, error) {
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return result{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := c.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header, b}, err
}

func (r result) remote(t *testing.T) (exc, class, msg string) {
	t.Helper()
	var env struct {
		RemoteException struct{ Exception, JavaClassName, Message string }
	}
	if err := json.Unmarshal(r.body, &env); err != nil || env.RemoteException.Exception == "" {
		t.Fatalf("status %d: not a RemoteException: %q", r.status, r.body)
	}
	e := env.RemoteException
	return e.Exception, e.JavaClassName, e.Message
}

func (r result) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("status %d: %v: %q", r.status, err, r.body)
	}
}

// nn calls the namenode without following redirects.
func nn(t *testing.T, s *Server, method, target string) result {
	t.Helper()
	return do(t, noFollow, method, s.URL+"/webhdfs/v1"+target, nil)
}

// twoStep does a CREATE, APPEND or OPEN by hand: the namenode step, and the
// datanode step if the namenode redirected.
func twoStep(t *testing.T, s *Server, method, target, body string) result {
	t.Helper()
	r := nn(t, s, method, target)
	if r.status != http.StatusTemporaryRedirect {
		return r
	}
	var rd io.Reader
	if method != http.MethodGet {
		rd = strings.NewReader(body)
	}
	return do(t, noFollow, method, r.header.Get("Location"), rd)
}

func boolean(t *testing.T, r result) bool {
	t.Helper()
	var v struct{ Boolean *bool }
	if r.json(t, &v); r.status != 200 || v.Boolean == nil {
		t.Fatalf("status %d body %q", r.status, r.body)
	}
	return *v.Boolean
}

func TestCreateByHand(t *testing.T) {
	s := New(t)
	r := nn(t, s, "PUT", "/a/b/c.txt?op=CREATE&user.name=alice&overwrite=false&replication=2")
	if r.status != http.StatusTemporaryRedirect || len(r.body) != 0 {
		t.Fatalf("step 1: %d %q", r.status, r.body)
	}
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil || "http://"+loc.Host != s.DatanodeURL || loc.Path != "/webhdfs/v1/a/b/c.txt" {
		t.Fatalf("Location %v (%v), datanode %s", loc, err, s.DatanodeURL)
	}
	q := loc.Query()
	if q.Get("op") != "CREATE" || q.Get("user.name") != "alice" || q.Get("overwrite") != "false" || q.Get("namenoderpcaddress") == "" {
		t.Fatalf("redirect query %v", q)
	}
	if _, ok := s.File("/a/b/c.txt"); ok {
		t.Fatal("step 1 created the file")
	}
	r = do(t, noFollow, "PUT", loc.String(), strings.NewReader("hello"))
	want := "hdfs://" + q.Get("namenoderpcaddress") + "/a/b/c.txt"
	if r.status != http.StatusCreated || r.header.Get("Location") != want || len(r.body) != 0 {
		t.Fatalf("step 2: %d %v %q, want Location %s", r.status, r.header, r.body, want)
	}
	if b, ok := s.File("/a/b/c.txt"); !ok || string(b) != "hello" {
		t.Fatalf("File = %q %v", b, ok)
	}
	var st struct{ FileStatus fileStatus }
	nn(t, s, "GET", "/a/b/c.txt?op=GETFILESTATUS").json(t, &st)
	if f := st.FileStatus; f.Owner != "alice" || f.Replication != 2 || f.Length != 5 || f.Type != "FILE" || f.Permission != "644" {
		t.Fatalf("status %+v", f)
	}
	nn(t, s, "GET", "/a/b?op=GETFILESTATUS").json(t, &st)
	if f := st.FileStatus; f.Owner != "alice" || f.Type != "DIRECTORY" || f.Permission != "755" || f.ChildrenNum != 1 || f.Replication != 0 {
		t.Fatalf("parent status %+v", f)
	}
}

func TestNoRedirect(t *testing.T) {
	s := New(t)
	for _, c := range []struct{ method, target, body, want string }{
		{"PUT", "/f?op=CREATE&noredirect=true", "abc", ""},
		{"POST", "/f?op=APPEND&noredirect=true", "def", ""},
		{"GET", "/f?op=OPEN&noredirect=true&offset=1&length=4", "", "bcde"},
	} {
		r := nn(t, s, c.method, c.target)
		var v struct{ Location string }
		if r.json(t, &v); r.status != 200 || v.Location == "" || r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %q", c.target, r.status, r.body)
		}
		if strings.Contains(v.Location, "noredirect") {
			t.Errorf("Location keeps noredirect: %s", v.Location)
		}
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		r = do(t, noFollow, c.method, v.Location, body)
		if r.status >= 300 || string(r.body) != c.want {
			t.Fatalf("%s step 2: %d %q", c.target, r.status, r.body)
		}
	}
	if b, _ := s.File("/f"); string(b) != "abcdef" {
		t.Fatalf("file %q", b)
	}
}

func TestDefaultClientFollows(t *testing.T) {
	s := New(t)
	c := http.DefaultClient
	base := s.URL + "/webhdfs/v1/d/f"
	// bytes and strings readers set GetBody, so the PUT body is re-sent.
	if r := do(t, c, "PUT", base+"?op=CREATE", bytes.NewReader([]byte("one\n"))); r.status != http.StatusCreated {
		t.Fatalf("CREATE: %d %q", r.status, r.body)
	}
	if r := do(t, c, "POST", base+"?op=APPEND", strings.NewReader("two\n")); r.status != 200 || len(r.body) != 0 {
		t.Fatalf("APPEND: %d %q", r.status, r.body)
	}
	if r := do(t, c, "GET", base+"?op=OPEN", nil); r.status != 200 || string(r.body) != "one\ntwo\n" ||
		r.header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("OPEN: %d %v %q", r.status, r.header, r.body)
	}
	// Without GetBody Go does not follow the 307 and returns it.
	r := do(t, c, "PUT", base+"?op=CREATE&overwrite=true", io.NopCloser(strings.NewReader("lost")))
	if r.status != http.StatusTemporaryRedirect || r.header.Get("Location") == "" {
		t.Fatalf("non-rewindable body: %d %v", r.status, r.header)
	}
	if b, _ := s.File("/d/f"); string(b) != "one\ntwo\n" {
		t.Fatalf("namenode wrote the body: %q", b)
	}
	if got := len(s.DatanodeOps()); got != 3 {
		t.Fatalf("datanode requests %d, want 3", got)
	}
}

func TestErrors(t *testing.T) {
	setup := func(s *Server) {
		s.WriteFile("/dir/f", []byte("0123456789"))
		s.WriteFile("/dir/sub/g", nil)
	}
	const (
		nf   = "FileNotFoundException"
		iae  = "IllegalArgumentException"
		uoe  = "UnsupportedOperationException"
		fae  = "FileAlreadyExistsException"
		pnd  = "ParentNotDirectoryException"
		two  = true
		none = false
	)
	cases := []struct {
		name, method, target string
		twoStep              bool
		status               int
		exc, class, msg      string
	}{
		{"stat missing", "GET", "/nope?op=GETFILESTATUS", none, 404, nf, "java.io.FileNotFoundException", "File does not exist: /nope"},
		{"list missing", "GET", "/nope?op=LISTSTATUS", none, 404, nf, "", "File /nope does not exist."},
		{"unknown op", "GET", "/dir?op=FOO", none, 400, iae, "java.lang.IllegalArgumentException",
			`Invalid value for webhdfs parameter "op": No enum constant org.apache.hadoop.hdfs.web.resources.GetOpParam.Op.FOO`},
		{"op of another method", "GET", "/dir?op=CREATE", none, 400, iae, "", "GetOpParam.Op.CREATE"},
		{"lower-case op of another method", "PUT", "/dir?op=delete", none, 400, iae, "", "PutOpParam.Op.DELETE"},
		{"no op", "GET", "/dir", none, 400, uoe, "java.lang.UnsupportedOperationException", "op=NULL is not supported"},
		{"unimplemented op", "PUT", "/dir?op=SETOWNER&owner=x", none, 400, uoe, "", "op=SETOWNER is not supported"},
		{"dot-dot", "GET", "/dir/../etc?op=GETFILESTATUS", none, 400, "InvalidPathException", "org.apache.hadoop.fs.InvalidPathException", "/dir/../etc"},
		{"empty component", "GET", "/dir//f?op=GETFILESTATUS", none, 400, "InvalidPathException", "", "/dir//f"},
		{"bad boolean", "DELETE", "/dir?op=DELETE&recursive=yes", none, 400, iae, "", `Invalid value for webhdfs parameter "recursive"`},
		{"bad long", "GET", "/dir/f?op=OPEN&offset=x", none, 400, iae, "", `parameter "offset": Failed to parse "x"`},
		{"negative length", "GET", "/dir/f?op=OPEN&length=-1", none, 400, iae, "", "Invalid parameter range: length = -1 < 0"},
		{"bad permission", "PUT", "/x?op=MKDIRS&permission=999", none, 400, iae, "", `parameter "permission"`},
		{"append missing", "POST", "/nope?op=APPEND", two, 404, nf, "", "File /nope not found."},
		{"append directory", "POST", "/dir?op=APPEND", two, 404, nf, "", "Path is not a file: /dir"},
		{"open missing", "GET", "/nope?op=OPEN", two, 404, nf, "", "File /nope not found."},
		{"open directory", "GET", "/dir?op=OPEN", two, 404, nf, "", "Path is not a file: /dir"},
		{"open past end", "GET", "/dir/f?op=OPEN&offset=10", two, 403, "IOException", "java.io.IOException", "Offset=10 out of the range [0, 10)"},
		{"create existing", "PUT", "/dir/f?op=CREATE", two, 403, fae, "org.apache.hadoop.fs.FileAlreadyExistsException", "/dir/f for client 127.0.0.1 already exists"},
		{"create overwrite=false", "PUT", "/dir/f?op=CREATE&overwrite=false", two, 403, fae, "", "already exists"},
		{"create over directory", "PUT", "/dir?op=CREATE&overwrite=true", two, 403, fae, "", "/dir already exists as a directory"},
		{"create under file", "PUT", "/dir/f/g?op=CREATE", two, 403, pnd, "org.apache.hadoop.fs.ParentNotDirectoryException", "/dir/f (is not a directory)"},
		{"create without parent", "PUT", "/new/g?op=CREATE&createparent=false", two, 404, nf, "", "Parent directory doesn't exist: /new"},
		{"mkdirs over file", "PUT", "/dir/f?op=MKDIRS", none, 403, fae, "", "Path is not a directory: /dir/f"},
		{"mkdirs under file", "PUT", "/dir/f/x?op=MKDIRS", none, 403, pnd, "", "/dir/f (is not a directory)"},
		{"delete non-empty", "DELETE", "/dir?op=DELETE", none, 403, "PathIsNotEmptyDirectoryException",
			"org.apache.hadoop.fs.PathIsNotEmptyDirectoryException", "`/dir is non empty': Directory is not empty"},
		{"delete non-empty recursive=false", "DELETE", "/dir?op=DELETE&recursive=false", none, 403, "PathIsNotEmptyDirectoryException", "", "non empty"},
		{"rename without destination", "PUT", "/dir/f?op=RENAME", none, 400, iae, "", "Required param destination for op: RENAME is null or empty"},
		{"rename relative destination", "PUT", "/dir/f?op=RENAME&destination=g", none, 400, iae, "", `destination = "g" is not an absolute path.`},
		{"rename2 existing destination", "PUT", "/dir/f?op=RENAME&destination=/dir/sub/g&renameoptions=NONE", none, 403, fae, "", "rename destination /dir/sub/g already exists"},
		{"rename2 missing source", "PUT", "/nope?op=RENAME&destination=/x&renameoptions=OVERWRITE", none, 404, nf, "", "rename source /nope is not found."},
		{"rename2 missing parent", "PUT", "/dir/f?op=RENAME&destination=/no/x&renameoptions=NONE", none, 404, nf, "", "rename destination parent /no/x not found."},
		{"rename2 file over directory", "PUT", "/dir/f?op=RENAME&destination=/dir/sub&renameoptions=OVERWRITE", none, 403, "IOException", "", "must both be directories"},
		{"rename2 bad option", "PUT", "/dir/f?op=RENAME&destination=/x&renameoptions=FORCE", none, 400, iae, "", "Options.Rename.FORCE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New(t)
			setup(s)
			before := s.Walk()
			var r result
			if c.twoStep {
				r = twoStep(t, s, c.method, c.target, "data")
			} else {
				r = nn(t, s, c.method, c.target)
			}
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			exc, class, msg := r.remote(t)
			if exc != c.exc || (c.class != "" && class != c.class) || !strings.Contains(msg, c.msg) {
				t.Fatalf("got %s (%s) %q, want %s (%s) containing %q", exc, class, msg, c.exc, c.class, c.msg)
			}
			if after := s.Walk(); !reflect.DeepEqual(after, before) {
				t.Fatalf("failed request changed files: %v -> %v", before, after)
			}
		})
	}
}

func TestRename(t *testing.T) {
	cases := []struct {
		name, src, dst string
		want           bool
		files          []string // every file afterwards; nil: unchanged
	}{
		{"file", "/a/f", "/a/g", true, []string{"/a/g", "/b/x"}},
		{"across directories", "/a/f", "/b/f2", true, []string{"/b/f2", "/b/x"}},
		{"missing source", "/a/nope", "/a/g", false, nil},
		{"existing destination", "/a/f", "/b/x", false, nil},
		{"missing destination parent", "/a/f", "/c/d/f", false, nil},
		{"destination parent is a file", "/a/f", "/b/x/f", false, nil},
		{"into existing directory", "/a/f", "/b", true, []string{"/b/f", "/b/x"}},
		{"into directory holding the name", "/b/x", "/b", true, nil},
		{"same path", "/a/f", "/a/f", true, nil},
		{"directory", "/a", "/c", true, []string{"/b/x", "/c/f"}},
		{"directory into itself", "/a", "/a/sub", false, nil},
		{"directory onto itself", "/a", "/a", false, nil},
		{"root", "/", "/z", false, nil},
		{"trailing slash", "/a/f", "/b/", true, []string{"/b/f", "/b/x"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New(t)
			s.WriteFile("/a/f", []byte("F"))
			s.WriteFile("/b/x", []byte("X"))
			want := c.files
			if want == nil {
				want = []string{"/a/f", "/b/x"}
			}
			got := boolean(t, nn(t, s, "PUT", c.src+"?op=RENAME&destination="+url.QueryEscape(c.dst)+"&user.name=u"))
			if got != c.want {
				t.Fatalf("rename = %v, want %v", got, c.want)
			}
			var paths []string
			for p := range s.Walk() {
				paths = append(paths, p)
			}
			sort.Strings(paths)
			if !reflect.DeepEqual(paths, want) {
				t.Fatalf("files %v, want %v", paths, want)
			}
			if c.name != "directory" && s.List("/c") != nil {
				t.Fatal("rename created the destination's parents")
			}
			if c.name == "across directories" && s.List("/a") == nil {
				t.Fatal("source directory went away")
			}
		})
	}
	s := New(t)
	s.WriteFile("/d/f", []byte("new"))
	s.WriteFile("/e/f", []byte("old"))
	if r := nn(t, s, "PUT", "/d/f?op=RENAME&destination=/e/f&renameoptions=OVERWRITE"); r.status != 200 || len(r.body) != 0 {
		t.Fatalf("rename2 overwrite: %d %q", r.status, r.body)
	}
	if b, _ := s.File("/e/f"); string(b) != "new" || s.List("/d") == nil || len(s.List("/d")) != 0 {
		t.Fatalf("after rename2: %v", s.Walk())
	}
}

func TestDelete(t *testing.T) {
	cases := []struct {
		name, target string
		want         bool
		left         []string // what List("/") returns afterwards
	}{
		{"file", "/a/f?op=DELETE", true, []string{"a", "e"}},
		{"missing", "/nope?op=DELETE", false, []string{"a", "e"}},
		{"empty directory", "/e?op=DELETE", true, []string{"a"}},
		{"tree", "/a?op=DELETE&recursive=true", true, []string{"e"}},
		{"root", "/?op=DELETE&recursive=true", false, []string{"a", "e"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New(t)
			s.WriteFile("/a/f", nil)
			nn(t, s, "PUT", "/e?op=MKDIRS")
			if got := boolean(t, nn(t, s, "DELETE", c.target)); got != c.want {
				t.Fatalf("delete = %v", got)
			}
			if got := s.List("/"); !reflect.DeepEqual(got, c.left) {
				t.Fatalf("left %v, want %v", got, c.left)
			}
		})
	}
}

func TestStatusAndListing(t *testing.T) {
	s := New(t)
	if !boolean(t, nn(t, s, "PUT", "/top/x/y?op=MKDIRS&permission=750&user.name=bob")) ||
		!boolean(t, nn(t, s, "PUT", "/top/x/y?op=MKDIRS")) {
		t.Fatal("MKDIRS false")
	}
	if r := twoStep(t, s, "PUT", "/top/b.txt?op=CREATE&permission=600&blocksize=1024&user.name=carol", "12345"); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	s.WriteFile("/top/a.txt", []byte("a"))

	r := nn(t, s, "GET", "/top?op=LISTSTATUS")
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("LISTSTATUS %d %v", r.status, r.header)
	}
	// The field set and order of a Hadoop 3 FileStatus.
	var raw struct {
		FileStatuses struct{ FileStatus []json.RawMessage }
	}
	r.json(t, &raw)
	var keys []string
	dec := json.NewDecoder(bytes.NewReader(raw.FileStatuses.FileStatus[0]))
	dec.Token()
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip any
		dec.Decode(&skip)
	}
	if want := "accessTime blockSize childrenNum fileId group length modificationTime owner pathSuffix permission replication storagePolicy type"; strings.Join(keys, " ") != want {
		t.Fatalf("keys %v", keys)
	}
	var list struct {
		FileStatuses struct{ FileStatus []fileStatus }
	}
	r.json(t, &list)
	var got []string
	for _, f := range list.FileStatuses.FileStatus {
		got = append(got, fmt.Sprintf("%s %s %s %s %d %d %d", f.PathSuffix, f.Type, f.Permission, f.Owner, f.Length, f.BlockSize, f.ChildrenNum))
	}
	want := []string{
		"a.txt FILE 644 hdfs 1 134217728 0",
		"b.txt FILE 600 carol 5 1024 0",
		"x DIRECTORY 750 bob 0 0 1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("listing\n got %q\nwant %q", got, want)
	}
	for _, f := range list.FileStatuses.FileStatus {
		if f.FileID <= rootID || f.ModificationTime == 0 || f.Group != "supergroup" {
			t.Fatalf("status %+v", f)
		}
	}
	// LISTSTATUS of a file lists the file with an empty pathSuffix.
	nn(t, s, "GET", "/top/a.txt?op=LISTSTATUS").json(t, &list)
	if fs := list.FileStatuses.FileStatus; len(fs) != 1 || fs[0].PathSuffix != "" || fs[0].Length != 1 {
		t.Fatalf("file listing %+v", fs)
	}
	// An empty directory lists as an empty array.
	if r := nn(t, s, "GET", "/top/x/y?op=LISTSTATUS"); string(r.body) != `{"FileStatuses":{"FileStatus":[]}}` {
		t.Fatalf("empty listing %s", r.body)
	}
	var root struct{ FileStatus fileStatus }
	nn(t, s, "GET", "/?op=GETFILESTATUS").json(t, &root)
	if root.FileStatus.FileID != rootID || root.FileStatus.Type != "DIRECTORY" || root.FileStatus.ChildrenNum != 1 {
		t.Fatalf("root %+v", root.FileStatus)
	}
	var home struct{ Path string }
	if nn(t, s, "GET", "/?op=GETHOMEDIRECTORY&user.name=dave").json(t, &home); home.Path != "/user/dave" {
		t.Fatalf("home %q", home.Path)
	}
	if got := s.List("/top"); !reflect.DeepEqual(got, []string{"a.txt", "b.txt", "x"}) {
		t.Fatalf("List %v", got)
	}
	if s.List("/nope") != nil || s.List("/top/a.txt") != nil || s.List("/top/x/y") == nil {
		t.Fatal("List of missing, file or empty directory")
	}
	if w := s.Walk(); len(w) != 2 || string(w["/top/b.txt"]) != "12345" {
		t.Fatalf("Walk %v", w)
	}
}

func TestOpenAndAppend(t *testing.T) {
	s := New(t)
	s.WriteFile("/f", []byte("0123456789"))
	cases := []struct{ query, want string }{
		{"", "0123456789"},
		{"&offset=3", "3456789"},
		{"&offset=3&length=4", "3456"},
		{"&length=0", ""},
		{"&offset=9&length=100", "9"},
	}
	for _, c := range cases {
		if r := twoStep(t, s, "GET", "/f?op=OPEN"+c.query, ""); r.status != 200 || string(r.body) != c.want {
			t.Errorf("OPEN%s: %d %q, want %q", c.query, r.status, r.body, c.want)
		}
	}
	if r := twoStep(t, s, "POST", "/f?op=APPEND&buffersize=10", "ab"); r.status != 200 || len(r.body) != 0 {
		t.Fatalf("APPEND: %d %q", r.status, r.body)
	}
	if b, _ := s.File("/f"); string(b) != "0123456789ab" {
		t.Fatalf("after append %q", b)
	}
	// An empty file opens at offset 0.
	s.WriteFile("/empty", nil)
	if r := twoStep(t, s, "GET", "/empty?op=OPEN", ""); r.status != 200 || len(r.body) != 0 {
		t.Fatalf("empty OPEN: %d %q", r.status, r.body)
	}
	// The datanode insists on namenoderpcaddress, as a real one does.
	r := do(t, noFollow, "GET", s.DatanodeURL+"/webhdfs/v1/f?op=OPEN", nil)
	if exc, _, msg := r.remote(t); r.status != 400 || exc != "IllegalArgumentException" || msg != "namenoderpcaddress is not specified." {
		t.Fatalf("datanode without namenoderpcaddress: %d %s %s", r.status, exc, msg)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("datanode error Content-Type %q", ct)
	}
	// Outside /webhdfs/v1 is the servlet container's 404.
	if r := do(t, noFollow, "GET", s.URL+"/webhdfs/v2/f?op=OPEN", nil); r.status != 404 {
		t.Fatalf("outside prefix: %d", r.status)
	}
}

func TestOverwrite(t *testing.T) {
	s := New(t)
	s.WriteFile("/f", []byte("old contents"))
	if r := twoStep(t, s, "PUT", "/f?op=CREATE&overwrite=true", "new"); r.status != 201 {
		t.Fatalf("overwrite: %d %s", r.status, r.body)
	}
	if b, _ := s.File("/f"); string(b) != "new" {
		t.Fatalf("file %q", b)
	}
}

func TestLease(t *testing.T) {
	s := New(t)
	r := nn(t, s, "PUT", "/f?op=CREATE")
	pr, pw := io.Pipe()
	done := make(chan result)
	go func() {
		req, _ := http.NewRequest("PUT", r.header.Get("Location"), pr)
		resp, err := noFollow.Do(req)
		if err != nil {
			done <- result{status: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	pw.Write([]byte("first "))
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, ok := s.File("/f"); ok {
			break // created, lease held, upload in progress
		} else if time.Now().After(deadline) {
			t.Fatal("the upload never started")
		}
	}
	for _, target := range []string{"/f?op=APPEND", "/f?op=CREATE&overwrite=true"} {
		r := twoStep(t, s, map[bool]string{true: "POST", false: "PUT"}[strings.Contains(target, "APPEND")], target, "x")
		if exc, _, _ := r.remote(t); r.status != 403 || exc != "AlreadyBeingCreatedException" {
			t.Fatalf("%s during upload: %d %s", target, r.status, exc)
		}
	}
	pw.Write([]byte("second"))
	pw.Close()
	if res := <-done; res.status != 201 {
		t.Fatalf("upload: %d %s", res.status, res.body)
	}
	if b, _ := s.File("/f"); string(b) != "first second" {
		t.Fatalf("file %q", b)
	}
	if r := twoStep(t, s, "POST", "/f?op=APPEND", "!"); r.status != 200 {
		t.Fatalf("append after upload: %d %s", r.status, r.body)
	}
}

func TestFailNext(t *testing.T) {
	s := New(t)
	s.WriteFile("/a", []byte("A"))
	s.FailNext("CREATE", 2, 503)
	s.FailNext("rename", 1, 403)
	s.FailNextWith("DELETE", 1, 403, "StandbyException")
	s.FailNext("", 1, 500)
	steps := []struct {
		method, target string
		status         int
		exc, class     string
	}{
		{"GET", "/a?op=GETFILESTATUS", 500, "IOException", "java.io.IOException"}, // "" matches any op
		{"PUT", "/b?op=CREATE", 503, "RetriableException", "org.apache.hadoop.ipc.RetriableException"},
		{"GET", "/a?op=GETFILESTATUS", 200, "", ""},
		{"PUT", "/b?op=CREATE", 503, "RetriableException", ""},
		{"PUT", "/b?op=CREATE", 307, "", ""},
		{"PUT", "/a?op=RENAME&destination=/c", 403, "AccessControlException", "org.apache.hadoop.security.AccessControlException"},
		{"PUT", "/a?op=RENAME&destination=/c", 200, "", ""},
		{"DELETE", "/c?op=DELETE", 403, "StandbyException", "org.apache.hadoop.ipc.StandbyException"},
		{"DELETE", "/c?op=DELETE", 200, "", ""},
	}
	for i, st := range steps {
		r := nn(t, s, st.method, st.target)
		if r.status != st.status {
			t.Fatalf("step %d %s: %d, want %d: %s", i, st.target, r.status, st.status, r.body)
		}
		if st.exc != "" {
			if exc, class, _ := r.remote(t); exc != st.exc || (st.class != "" && class != st.class) {
				t.Fatalf("step %d: %s %s", i, exc, class)
			}
		}
	}
	ops := s.Ops()
	if len(ops) != len(steps) {
		t.Fatalf("%d ops", len(ops))
	}
	for i, op := range ops {
		if op.Status != steps[i].status {
			t.Errorf("op %d %+v, want status %d", i, op, steps[i].status)
		}
	}
	if s.Walk()["/a"] != nil || len(s.Walk()) != 0 {
		t.Fatalf("files %v", s.Walk())
	}
}

func TestFailDatanode(t *testing.T) {
	s := New(t)
	s.WriteFile("/log", []byte("head|"))
	s.FailDatanode(2)
	for _, c := range []struct{ method, target, body string }{
		{"PUT", "/new?op=CREATE", "0123456789"},
		{"POST", "/log?op=APPEND", "abcdef"},
	} {
		r := twoStep(t, s, c.method, c.target, c.body)
		if exc, _, _ := r.remote(t); r.status != 500 || exc != "IOException" {
			t.Fatalf("%s: %d %s", c.target, r.status, exc)
		}
	}
	if b, _ := s.File("/new"); string(b) != "01234" {
		t.Fatalf("partial create %q", b)
	}
	if b, _ := s.File("/log"); string(b) != "head|abc" {
		t.Fatalf("partial append %q", b)
	}
	// The fault is spent and the lease released: a retry works.
	if r := twoStep(t, s, "POST", "/log?op=APPEND", "def"); r.status != 200 {
		t.Fatalf("retry: %d %s", r.status, r.body)
	}
	if b, _ := s.File("/log"); string(b) != "head|abcdef" {
		t.Fatalf("after retry %q", b)
	}
}

func TestOps(t *testing.T) {
	s := New(t)
	twoStep(t, s, "PUT", "/x/f?op=CREATE&user.name=eve", "hi")
	nn(t, s, "GET", "/x/nope?op=GETFILESTATUS")
	ops := s.Ops()
	if len(ops) != 2 {
		t.Fatalf("ops %+v", ops)
	}
	if o := ops[0]; o.Op != "CREATE" || o.Path != "/x/f" || o.User != "eve" || o.Status != 307 || o.Query.Get("op") != "CREATE" {
		t.Fatalf("op 0 %+v", o)
	}
	if o := ops[1]; o.Op != "GETFILESTATUS" || o.User != "" || o.Status != 404 {
		t.Fatalf("op 1 %+v", o)
	}
	dn := s.DatanodeOps()
	if len(dn) != 1 || dn[0].Op != "CREATE" || dn[0].Status != 201 || dn[0].User != "eve" || dn[0].Query.Get("namenoderpcaddress") == "" {
		t.Fatalf("datanode ops %+v", dn)
	}
}

func TestConcurrent(t *testing.T) {
	s := New(t)
	c := http.DefaultClient
	u := func(p, query string) string { return s.URL + "/webhdfs/v1" + p + "?" + query }
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			shared, tmp := fmt.Sprintf("/c/%d/f", i%4), fmt.Sprintf("/c/tmp/%d", i)
			for j := range 5 {
				body := fmt.Sprintf("%d-%d;", i, j)
				if r, err := try(c, "PUT", u(tmp, "op=CREATE&overwrite=true"), strings.NewReader(body)); err != nil || r.status != 201 {
					t.Errorf("create: %v %d %s", err, r.status, r.body)
					return
				}
				if r, err := try(c, "PUT", u(tmp, fmt.Sprintf("op=RENAME&destination=/c/%d-%d", i, j)), nil); err != nil || string(r.body) != `{"boolean":true}` {
					t.Errorf("rename: %v %s", err, r.body)
					return
				}
				// Appends to a shared file race for its lease, as in HDFS: retry.
				for attempt := 0; ; attempt++ {
					r, err := try(c, "POST", u(shared, "op=APPEND"), strings.NewReader(body))
					if err == nil && r.status == 200 {
						break
					} else if attempt == 1000 {
						t.Errorf("append: %v %d %s", err, r.status, r.body)
						return
					} else if err == nil && r.status == 404 {
						try(c, "PUT", u(shared, "op=CREATE"), strings.NewReader(""))
					}
				}
				s.Ops()
				s.Walk()
				s.List("/c")
			}
		}()
	}
	wg.Wait()
	w := s.Walk()
	total := 0
	for i := range 4 {
		total += strings.Count(string(w[fmt.Sprintf("/c/%d/f", i)]), ";")
	}
	if total != 80 || len(w) != 84 {
		t.Fatalf("%d appends, %d files", total, len(w))
	}
}

func TestWriteFileFatal(t *testing.T) {
	s := New(t)
	s.WriteFile("/f", nil)
	ft := &fatalTB{TB: t}
	s.tb = ft
	func() {
		defer func() { recover() }()
		s.WriteFile("/f/g", []byte("x"))
	}()
	if !ft.failed {
		t.Fatal("WriteFile under a file did not fail the test")
	}
}

type fatalTB struct {
	testing.TB
	failed bool
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(string, ...any) {
	f.failed = true
	panic("fatal")
}
