// Package webhdfstest is an in-memory stand-in for the WebHDFS REST API of
// Hadoop 3.x HDFS, for tests. New starts two real net/http servers on
// 127.0.0.1: a namenode (Server.URL) and a datanode (Server.DatanodeURL).
//
// Implemented, following the WebHDFS wire protocol and the namenode and
// datanode sources (NamenodeWebHdfsMethods, WebHdfsHandler, ExceptionHandler):
//
//   - URLs /webhdfs/v1/<absolute path>?op=...; op is case-insensitive; the
//     user.name parameter is recorded and becomes the owner of new inodes
//     ("dr.who", the default static web user, when absent).
//   - PUT CREATE, POST APPEND and GET OPEN in two steps: the namenode answers
//     307 Temporary Redirect with a Location on the datanode listener (the
//     request's query plus namenoderpcaddress), or 200 {"Location":...} with
//     noredirect=true; it ignores any body. The datanode then creates (201
//     Created, Location hdfs://<namenoderpcaddress><path>), appends (200) or
//     streams the bytes (200, application/octet-stream, offset and length).
//     As in HDFS, CREATE checks happen on the datanode: an existing file
//     without overwrite=true, or a directory, is FileAlreadyExistsException
//     (403); parents are created unless createparent=false; APPEND and OPEN
//     of a missing file fail on the namenode with FileNotFoundException (404).
//     A file being written holds a lease: another CREATE or APPEND of it
//     fails with AlreadyBeingCreatedException (403) until the upload ends.
//   - PUT MKDIRS, PUT RENAME (FileSystem.rename semantics: {"boolean":false}
//     for a missing source, an existing destination or a missing destination
//     parent, and a move into an existing destination directory; with
//     renameoptions=NONE|OVERWRITE the rename2 semantics, which throw
//     instead), DELETE DELETE (PathIsNotEmptyDirectoryException for a
//     non-empty directory without recursive=true), GET GETFILESTATUS,
//     LISTSTATUS and GETHOMEDIRECTORY, with Hadoop's JSON bodies.
//   - Errors as {"RemoteException":{"exception","javaClassName","message"}}
//     with ExceptionHandler's status mapping: FileNotFoundException 404,
//     IllegalArgumentException and UnsupportedOperationException 400, every
//     other IOException (FileAlreadyExistsException, AccessControlException,
//     StandbyException, ...) 403. Unknown ops and malformed numeric or
//     boolean parameters get Jersey's "Invalid value for webhdfs parameter"
//     messages; paths with "", ".", ".." or ":" components are
//     InvalidPathException (400).
//   - Fault injection (FailNext, FailNextWith, FailDatanode) and request logs
//     (Ops, DatanodeOps).
//
// Not implemented: security (Kerberos/SPNEGO, delegation tokens, doas;
// permissions are stored and reported but never checked, no umask),
// symlinks, snapshots, ACLs, xattrs, quotas, storage and erasure-coding
// policies, checksums, TRUNCATE, CONCAT, SETPERMISSION/SETOWNER/SETTIMES
// and the other ops, which answer UnsupportedOperationException (400).
// Leases end with the upload (no soft-limit lease recovery), written data
// becomes visible when the upload ends, and there is one datanode and no
// block or replica model: blockSize and replication are only reported.
package webhdfstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	prefix      = "/webhdfs/v1"
	defaultUser = "dr.who" // hadoop.http.staticuser.user
	superUser   = "hdfs"
	group       = "supergroup"
	blockSize   = 134217728 // dfs.blocksize
	replication = 3         // dfs.replication
	rootID      = 16385     // INodeId.ROOT_INODE_ID
	jsonType    = "application/json"
	dnJSONType  = "application/json; charset=utf-8"
	octets      = "application/octet-stream"
)

// Op is one request as a server saw it.
type Op struct {
	Op     string     // upper-cased op parameter, "" if absent
	Path   string     // HDFS path ("/a/b"), or the raw URL path if it is not valid
	User   string     // user.name parameter, "" if absent
	Query  url.Values // the whole query
	Status int        // HTTP status answered
}

// Server is a fake HDFS cluster of one namenode and one datanode.
type Server struct {
	URL         string // namenode base URL, http://127.0.0.1:PORT
	DatanodeURL string // datanode base URL

	tb        testing.TB
	nn, dn    *httptest.Server
	nnAddr    string // host:port given to the datanode as namenoderpcaddress
	closeOnce sync.Once

	mu      sync.Mutex
	root    *node
	nextID  int64
	ops     []Op
	dnOps   []Op
	faults  []*fault
	dnFails int
}

type node struct {
	name         string
	dir          bool
	kids         map[string]*node
	data         []byte
	perm         int64
	owner        string
	mtime, atime int64
	repl, block  int64
	id           int64
	writing      bool // lease held by an upload in progress
}

type fault struct {
	op     string
	n      int
	status int
	exc    string
}

// New starts a namenode and a datanode listener and closes them on
// tb.Cleanup.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{tb: tb, nextID: rootID}
	s.root = s.newNode("", true, 0o755, superUser, now())
	s.dn = httptest.NewServer(http.HandlerFunc(s.serveDatanode))
	s.nn = httptest.NewServer(http.HandlerFunc(s.serveNamenode))
	s.URL, s.DatanodeURL = s.nn.URL, s.dn.URL
	s.nnAddr = s.nn.Listener.Addr().String()
	tb.Cleanup(s.Close)
	return s
}

// Close shuts both listeners down; it is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() { s.nn.Close(); s.dn.Close() })
}

// File returns a copy of the file at path and whether it is a file.
func (s *Server) File(p string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.lookup(p); n != nil && !n.dir {
		return bytes.Clone(n.data), true
	}
	return nil, false
}

// List returns the sorted names directly in dir, or nil if dir is not a
// directory.
func (s *Server) List(dir string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.lookup(dir)
	if n == nil || !n.dir {
		return nil
	}
	names := []string{}
	for _, k := range sortedKids(n) {
		names = append(names, k.name)
	}
	return names
}

// Walk returns a copy of every file, by absolute path.
func (s *Server) Walk() map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]byte{}
	var walk func(p string, n *node)
	walk = func(p string, n *node) {
		if !n.dir {
			out[p] = bytes.Clone(n.data)
		}
		for name, k := range n.kids {
			walk(path.Join(p, name), k)
		}
	}
	walk("/", s.root)
	return out
}

// WriteFile creates or replaces a file, creating its parents, owned by hdfs.
func (s *Server) WriteFile(p string, data []byte) {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := cleanPath(p)
	if err == nil && p == "/" {
		err = fmt.Errorf("/ is a directory")
	}
	var dir *node
	if err == nil {
		dir, err = s.mkdirAll(path.Dir(p), 0o755, superUser)
	}
	if err == nil {
		if n := dir.kids[path.Base(p)]; n != nil && n.dir {
			err = fmt.Errorf("%s is a directory", p)
		}
	}
	if err != nil {
		s.tb.Fatalf("webhdfstest: WriteFile %s: %v", p, err)
	}
	n := s.newNode(path.Base(p), false, 0o644, superUser, now())
	n.data = bytes.Clone(data)
	s.attach(dir, n)
}

// FailNext makes the next n namenode requests of op ("CREATE", "RENAME",
// ...; "" for any op) fail with status and a RemoteException matching it:
// 400 IllegalArgumentException, 401 SecurityException, 403
// AccessControlException, 404 FileNotFoundException, 503
// RetriableException, anything else IOException.
func (s *Server) FailNext(op string, n int, status int) {
	exc := map[int]string{400: "IllegalArgumentException", 401: "SecurityException", 403: "AccessControlException",
		404: "FileNotFoundException", 503: "RetriableException"}[status]
	if exc == "" {
		exc = "IOException"
	}
	s.FailNextWith(op, n, status, exc)
}

// FailNextWith is FailNext with the exception named: a short name such as
// "StandbyException" (which a real namenode answers with 403) or a Java
// class name.
func (s *Server) FailNextWith(op string, n int, status int, exception string) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{strings.ToUpper(op), n, status, exception})
}

// FailDatanode makes the next n datanode writes (CREATE or APPEND uploads)
// fail mid-way: the datanode reads the body, keeps its first half as the
// file's new content (CREATE) or appended bytes (APPEND), as a broken
// pipeline can leave a partial block, and answers 500 IOException.
func (s *Server) FailDatanode(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dnFails += n
}

// Ops returns every namenode request so far, in arrival order.
func (s *Server) Ops() []Op {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Op(nil), s.ops...)
}

// DatanodeOps returns every datanode request so far, in arrival order.
func (s *Server) DatanodeOps() []Op {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Op(nil), s.dnOps...)
}

// ---- errors ----

type remoteError struct {
	status          int
	exc, class, msg string
}

func (e *remoteError) Error() string { return e.exc + ": " + e.msg }

var javaClass = map[string]string{
	"FileNotFoundException":            "java.io.FileNotFoundException",
	"IOException":                      "java.io.IOException",
	"EOFException":                     "java.io.EOFException",
	"IllegalArgumentException":         "java.lang.IllegalArgumentException",
	"UnsupportedOperationException":    "java.lang.UnsupportedOperationException",
	"SecurityException":                "java.lang.SecurityException",
	"FileAlreadyExistsException":       "org.apache.hadoop.fs.FileAlreadyExistsException",
	"ParentNotDirectoryException":      "org.apache.hadoop.fs.ParentNotDirectoryException",
	"PathIsNotEmptyDirectoryException": "org.apache.hadoop.fs.PathIsNotEmptyDirectoryException",
	"InvalidPathException":             "org.apache.hadoop.fs.InvalidPathException",
	"AccessControlException":           "org.apache.hadoop.security.AccessControlException",
	"RetriableException":               "org.apache.hadoop.ipc.RetriableException",
	"StandbyException":                 "org.apache.hadoop.ipc.StandbyException",
	"SafeModeException":                "org.apache.hadoop.hdfs.server.namenode.SafeModeException",
	"AlreadyBeingCreatedException":     "org.apache.hadoop.hdfs.protocol.AlreadyBeingCreatedException",
	"RecoveryInProgressException":      "org.apache.hadoop.hdfs.protocol.RecoveryInProgressException",
}

func rerr(status int, exc, format string, a ...any) *remoteError {
	class := javaClass[exc]
	if i := strings.LastIndexByte(exc, '.'); i >= 0 {
		class, exc = exc, exc[i+1:]
	} else if class == "" {
		class = exc
	}
	return &remoteError{status, exc, class, fmt.Sprintf(format, a...)}
}

func notFound(format string, a ...any) error { return rerr(404, "FileNotFoundException", format, a...) }
func ioErr(format string, a ...any) error    { return rerr(403, "IOException", format, a...) }
func badArg(format string, a ...any) error {
	return rerr(400, "IllegalArgumentException", format, a...)
}

// badParam is Jersey's ParamException as ExceptionHandler rewrites it.
func badParam(name, format string, a ...any) error {
	return badArg("Invalid value for webhdfs parameter \"%s\": %s", name, fmt.Sprintf(format, a...))
}

func writeError(w http.ResponseWriter, err error, ctype string) {
	e, ok := err.(*remoteError)
	if !ok {
		e = rerr(500, "IOException", "%v", err)
	}
	body, _ := json.Marshal(map[string]any{"RemoteException": map[string]string{
		"exception": e.exc, "javaClassName": e.class, "message": e.msg}})
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(e.status)
	w.Write(body)
}

func writeJSON(w http.ResponseWriter, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", jsonType)
	w.Write(body)
}

// ---- parameters and paths ----

type params struct {
	overwrite, recursive, noredirect, createParent bool
	offset, length, block, buffer, repl, perm      int64
	rename2, renameOverwrite                       bool
	dest                                           string
}

// opEnums are the ops Hadoop's GetOpParam, PutOpParam, PostOpParam and
// DeleteOpParam know, by HTTP method.
var opEnums = map[string][2]string{
	http.MethodGet: {"GetOpParam", " OPEN GETFILESTATUS LISTSTATUS GETCONTENTSUMMARY GETQUOTAUSAGE GETFILECHECKSUM" +
		" GETHOMEDIRECTORY GETDELEGATIONTOKEN GET_BLOCK_LOCATIONS GETFILEBLOCKLOCATIONS GETACLSTATUS GETXATTRS" +
		" GETTRASHROOT LISTXATTRS CHECKACCESS LISTSTATUS_BATCH GETSERVERDEFAULTS GETSNAPSHOTDIFF" +
		" GETSNAPSHOTDIFFLISTING GETSNAPSHOTTABLEDIRECTORYLIST GETSNAPSHOTLIST GETALLSTORAGEPOLICY" +
		" GETSTORAGEPOLICY GETECPOLICY GETECPOLICIES GETECCODECS GETTRASHROOTS GETSTATUS GETLINKTARGET" +
		" GETFILELINKSTATUS NULL "},
	http.MethodPut: {"PutOpParam", " CREATE MKDIRS CREATESYMLINK RENAME SETREPLICATION SETOWNER SETPERMISSION" +
		" SETTIMES RENEWDELEGATIONTOKEN CANCELDELEGATIONTOKEN MODIFYACLENTRIES REMOVEACLENTRIES REMOVEDEFAULTACL" +
		" REMOVEACL SETACL SETXATTR REMOVEXATTR ENABLEECPOLICY DISABLEECPOLICY SETECPOLICY ALLOWSNAPSHOT" +
		" DISALLOWSNAPSHOT CREATESNAPSHOT RENAMESNAPSHOT SETSTORAGEPOLICY SATISFYSTORAGEPOLICY SETQUOTA" +
		" SETQUOTABYSTORAGETYPE NULL "},
	http.MethodPost:   {"PostOpParam", " APPEND CONCAT TRUNCATE UNSETSTORAGEPOLICY UNSETECPOLICY NULL "},
	http.MethodDelete: {"DeleteOpParam", " DELETE DELETESNAPSHOT NULL "},
}

// parseParams parses the parameters this server understands as Jersey
// would, whatever the op.
func parseParams(q url.Values) (params, error) {
	pr := params{createParent: true, length: -1, block: blockSize, buffer: 4096, repl: replication, perm: -1}
	var err error
	boolP := func(name string, dst *bool) {
		switch v := q.Get(name); {
		case v == "" || err != nil:
		case strings.EqualFold(v, "true"), strings.EqualFold(v, "false"):
			*dst = strings.EqualFold(v, "true")
		default:
			err = badParam(name, "Failed to parse \"%s\" to Boolean.", v)
		}
	}
	intP := func(name string, radix int, min, max int64, dst *int64) {
		v := q.Get(name)
		if v == "" || err != nil {
			return
		}
		n, e := strconv.ParseInt(v, radix, 64)
		f := func(n int64) string { return strconv.FormatInt(n, radix) }
		switch {
		case e != nil:
			err = badParam(name, "Failed to parse \"%s\" as a radix-%d integer.", v, radix)
		case n < min:
			err = badParam(name, "Invalid parameter range: %s = %s < %s", name, f(n), f(min))
		case n > max:
			err = badParam(name, "Invalid parameter range: %s = %s > %s", name, f(n), f(max))
		default:
			*dst = n
		}
	}
	boolP("overwrite", &pr.overwrite)
	boolP("recursive", &pr.recursive)
	boolP("noredirect", &pr.noredirect)
	boolP("createparent", &pr.createParent)
	intP("offset", 10, 0, 1<<63-1, &pr.offset)
	intP("length", 10, 0, 1<<63-1, &pr.length)
	intP("blocksize", 10, 1, 1<<63-1, &pr.block)
	intP("buffersize", 10, 1, 1<<31-1, &pr.buffer)
	intP("replication", 10, 1, 1<<15-1, &pr.repl)
	intP("permission", 8, 0, 0o1777, &pr.perm)
	if v := q.Get("renameoptions"); v != "" && err == nil {
		pr.rename2 = true
		for _, o := range strings.Split(v, ",") {
			switch o = strings.ToUpper(strings.TrimSpace(o)); o {
			case "NONE":
			case "OVERWRITE":
				pr.renameOverwrite = true
			default:
				err = badParam("renameoptions", "No enum constant org.apache.hadoop.fs.Options.Rename.%s", o)
			}
		}
	}
	if v := q.Get("destination"); v != "" && err == nil {
		if !strings.HasPrefix(v, "/") {
			err = badParam("destination", "Invalid parameter value: destination = \"%s\" is not an absolute path.", v)
		} else {
			pr.dest, err = cleanPath(v)
		}
	}
	return pr, err
}

// cleanPath validates an absolute HDFS path as DFSUtil.isValidName does and
// drops a trailing slash.
func cleanPath(p string) (string, error) {
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	bad := !strings.HasPrefix(p, "/")
	for _, c := range comps(p) {
		bad = bad || c == "" || c == "." || c == ".." || strings.Contains(c, ":")
	}
	if bad {
		return p, rerr(400, "InvalidPathException", "Invalid path name Invalid file name: %s", p)
	}
	return p, nil
}

func comps(p string) []string {
	if p == "/" || p == "" {
		return nil
	}
	return strings.Split(strings.TrimPrefix(p, "/"), "/")
}

// ---- namespace (s.mu held) ----

func now() int64 { return time.Now().UnixMilli() }

func (s *Server) newNode(name string, dir bool, perm int64, owner string, t int64) *node {
	n := &node{name: name, dir: dir, perm: perm, owner: owner, mtime: t, id: s.nextID}
	s.nextID++
	if dir {
		n.kids = map[string]*node{}
	} else {
		n.atime, n.repl, n.block = t, replication, blockSize
	}
	return n
}

func (s *Server) lookup(p string) *node {
	n := s.root
	for _, c := range comps(p) {
		if n = n.kids[c]; n == nil { // a file's kids map is nil
			return nil
		}
	}
	return n
}

func (s *Server) attach(dir, n *node) { dir.kids[n.name] = n; dir.mtime = now() }

func (s *Server) detach(p string) {
	dir := s.lookup(path.Dir(p))
	delete(dir.kids, path.Base(p))
	dir.mtime = now()
}

func sortedKids(n *node) []*node {
	kids := make([]*node, 0, len(n.kids))
	for _, k := range n.kids {
		kids = append(kids, k)
	}
	sort.Slice(kids, func(i, j int) bool { return kids[i].name < kids[j].name })
	return kids
}

// mkdirAll creates p and its missing ancestors as directories.
func (s *Server) mkdirAll(p string, perm int64, owner string) (*node, error) {
	n, cur := s.root, ""
	for _, c := range comps(p) {
		cur += "/" + c
		next := n.kids[c]
		if next == nil {
			next = s.newNode(c, true, perm, owner, now())
			s.attach(n, next)
		} else if !next.dir {
			return nil, rerr(403, "ParentNotDirectoryException", "%s (is not a directory)", cur)
		}
		n = next
	}
	return n, nil
}

type fileStatus struct { // fields in Hadoop's (sorted) order
	AccessTime       int64  `json:"accessTime"`
	BlockSize        int64  `json:"blockSize"`
	ChildrenNum      int    `json:"childrenNum"`
	FileID           int64  `json:"fileId"`
	Group            string `json:"group"`
	Length           int    `json:"length"`
	ModificationTime int64  `json:"modificationTime"`
	Owner            string `json:"owner"`
	PathSuffix       string `json:"pathSuffix"`
	Permission       string `json:"permission"`
	Replication      int64  `json:"replication"`
	StoragePolicy    int    `json:"storagePolicy"`
	Type             string `json:"type"`
}

func status(n *node, suffix string) fileStatus {
	st := fileStatus{AccessTime: n.atime, BlockSize: n.block, ChildrenNum: len(n.kids), FileID: n.id,
		Group: group, Length: len(n.data), ModificationTime: n.mtime, Owner: n.owner, PathSuffix: suffix,
		Permission: strconv.FormatInt(n.perm, 8), Replication: n.repl, Type: "FILE"}
	if n.dir {
		st.Type = "DIRECTORY"
	}
	return st
}

// rename is ClientProtocol.rename: false rather than an error.
func (s *Server) rename(src, dst string) bool {
	sn := s.lookup(src)
	if sn == nil || src == "/" {
		return false
	}
	if d := s.lookup(dst); d != nil && d.dir {
		dst = path.Join(dst, sn.name)
	}
	if dst == src {
		return true
	}
	if strings.HasPrefix(dst, src+"/") || s.lookup(dst) != nil {
		return false
	}
	if par := s.lookup(path.Dir(dst)); par != nil && par.dir {
		s.move(src, sn, par, path.Base(dst))
		return true
	}
	return false
}

// rename2 is ClientProtocol.rename2 (Options.Rename): errors, no move into
// a destination directory.
func (s *Server) rename2(src, dst string, overwrite bool) error {
	sn := s.lookup(src)
	switch {
	case sn == nil:
		return notFound("rename source %s is not found.", src)
	case src == "/":
		return ioErr("rename source cannot be the root")
	case dst == src:
		return rerr(403, "FileAlreadyExistsException", "The source %s and destination %s are the same", src, dst)
	case strings.HasPrefix(dst, src+"/"):
		return ioErr("Rename destination %s is a directory or file under source %s", dst, src)
	case dst == "/":
		return ioErr("rename destination cannot be the root")
	}
	if d := s.lookup(dst); d != nil {
		switch {
		case d.dir != sn.dir:
			return ioErr("Source %s and destination %s must both be directories", src, dst)
		case !overwrite:
			return rerr(403, "FileAlreadyExistsException", "rename destination %s already exists", dst)
		case len(d.kids) > 0:
			return ioErr("rename destination directory is not empty: %s", dst)
		}
	}
	par := s.lookup(path.Dir(dst))
	if par == nil {
		return notFound("rename destination parent %s not found.", dst)
	} else if !par.dir {
		return rerr(403, "ParentNotDirectoryException", "rename destination parent %s is a file.", dst)
	}
	s.move(src, sn, par, path.Base(dst))
	return nil
}

func (s *Server) move(src string, n, par *node, name string) {
	s.detach(src)
	n.name = name
	s.attach(par, n)
}

// ---- namenode ----

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// serve logs the request in *log, calls h and records the status.
func (s *Server) serve(log *[]Op, w http.ResponseWriter, r *http.Request, ctype string,
	h func(w http.ResponseWriter, r *http.Request, op, p string, pathErr error) error) {
	q := r.URL.Query()
	op := strings.ToUpper(q.Get("op"))
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	ok = ok && (rest == "" || rest[0] == '/')
	p, perr := r.URL.Path, error(nil)
	if ok {
		if rest == "" {
			rest = "/"
		}
		p, perr = cleanPath(rest)
	}
	s.mu.Lock()
	*log = append(*log, Op{Op: op, Path: p, User: q.Get("user.name"), Query: q})
	i := len(*log) - 1
	s.mu.Unlock()
	rec := &recorder{ResponseWriter: w}
	if !ok {
		http.NotFound(rec, r) // outside the WebHDFS servlet
	} else if err := h(rec, r, op, p, perr); err != nil {
		writeError(rec, err, ctype)
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	s.mu.Lock()
	(*log)[i].Status = rec.status
	s.mu.Unlock()
}

func (s *Server) serveNamenode(w http.ResponseWriter, r *http.Request) {
	s.serve(&s.ops, w, r, jsonType, s.namenode)
}

func (s *Server) takeFault(op string) *fault {
	for i, f := range s.faults {
		if f.op == "" || f.op == op {
			if f.n--; f.n <= 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
			return f
		}
	}
	return nil
}

func (s *Server) namenode(w http.ResponseWriter, r *http.Request, op, p string, perr error) error {
	q := r.URL.Query()
	user := q.Get("user.name")
	if user == "" {
		user = defaultUser
	}
	s.mu.Lock()
	f := s.takeFault(op)
	s.mu.Unlock()
	if f != nil {
		msg := fmt.Sprintf("injected fault: %d", f.status)
		switch f.exc {
		case "AccessControlException":
			msg = fmt.Sprintf("Permission denied: user=%s, access=WRITE, inode=\"%s\":%s:%s:drwxr-xr-x", user, p, superUser, group)
		case "RetriableException":
			msg = "org.apache.hadoop.hdfs.server.namenode.SafeModeException: Cannot " + strings.ToLower(op) + " " + p + ". Name node is in safe mode."
		case "StandbyException":
			msg = "Operation category WRITE is not supported in state standby. Visit https://s.apache.org/sbnn-error"
		}
		return rerr(f.status, f.exc, "%s", msg)
	}
	enum, ok := opEnums[r.Method]
	if !ok {
		http.Error(w, "HTTP method "+r.Method+" is not supported by this URL", http.StatusMethodNotAllowed)
		return nil
	}
	if _, present := q["op"]; !present {
		op = "NULL"
	}
	if !strings.Contains(enum[1], " "+op+" ") {
		return badParam("op", "No enum constant org.apache.hadoop.hdfs.web.resources.%s.Op.%s", enum[0], op)
	}
	pr, err := parseParams(q)
	if err != nil {
		return err
	}
	if perr != nil {
		return perr
	}
	s.mu.Lock()
	v, err := s.nnOp(r.Method+" "+op, p, pr, user)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	switch v := v.(type) {
	case nil: // rename2
		w.Header().Set("Content-Type", octets)
		w.WriteHeader(http.StatusOK)
	case redirect:
		q2 := url.Values{}
		for k, vs := range q {
			q2[k] = vs
		}
		q2.Del("noredirect")
		q2.Set("namenoderpcaddress", s.nnAddr)
		loc := s.DatanodeURL + (&url.URL{Path: prefix + p}).EscapedPath() + "?" + q2.Encode()
		if pr.noredirect {
			writeJSON(w, map[string]string{"Location": loc})
			return nil
		}
		w.Header().Set("Location", loc)
		w.Header().Set("Content-Type", octets)
		w.WriteHeader(http.StatusTemporaryRedirect)
	default:
		writeJSON(w, v)
	}
	return nil
}

type redirect struct{}

func (s *Server) nnOp(call, p string, pr params, user string) (any, error) {
	n := s.lookup(p)
	switch call {
	case "PUT CREATE": // the datanode does the checks
		return redirect{}, nil
	case "POST APPEND", "GET OPEN":
		if n == nil {
			return nil, notFound("File %s not found.", p)
		}
		if l := int64(len(n.data)); call == "GET OPEN" && pr.offset >= l && l > 0 {
			return nil, ioErr("Offset=%d out of the range [0, %d); OPEN, path=%s", pr.offset, l, p)
		}
		return redirect{}, nil
	case "PUT MKDIRS":
		if n != nil && !n.dir {
			return nil, rerr(403, "FileAlreadyExistsException", "Path is not a directory: %s", p)
		}
		perm := pr.perm
		if perm < 0 {
			perm = 0o755
		}
		if _, err := s.mkdirAll(p, perm, user); err != nil {
			return nil, err
		}
		return map[string]bool{"boolean": true}, nil
	case "PUT RENAME":
		if pr.dest == "" {
			return nil, badArg("Required param destination for op: RENAME is null or empty")
		}
		if pr.rename2 {
			return nil, s.rename2(p, pr.dest, pr.renameOverwrite)
		}
		return map[string]bool{"boolean": s.rename(p, pr.dest)}, nil
	case "DELETE DELETE":
		switch {
		case n == nil:
			return map[string]bool{"boolean": false}, nil
		case n.dir && len(n.kids) > 0 && !pr.recursive:
			return nil, rerr(403, "PathIsNotEmptyDirectoryException", "`%s is non empty': Directory is not empty", p)
		case p == "/": // the root cannot be deleted
			return map[string]bool{"boolean": false}, nil
		}
		s.detach(p)
		return map[string]bool{"boolean": true}, nil
	case "GET GETFILESTATUS":
		if n == nil {
			return nil, notFound("File does not exist: %s", p)
		}
		return map[string]any{"FileStatus": status(n, "")}, nil
	case "GET LISTSTATUS":
		if n == nil {
			return nil, notFound("File %s does not exist.", p)
		}
		list := []fileStatus{}
		if !n.dir {
			list = append(list, status(n, ""))
		}
		for _, k := range sortedKids(n) {
			list = append(list, status(k, k.name))
		}
		return map[string]any{"FileStatuses": map[string]any{"FileStatus": list}}, nil
	case "GET GETHOMEDIRECTORY":
		return map[string]string{"Path": "/user/" + user}, nil
	}
	_, op, _ := strings.Cut(call, " ")
	return nil, rerr(400, "UnsupportedOperationException", "op=%s is not supported", op)
}

// ---- datanode ----

func (s *Server) serveDatanode(w http.ResponseWriter, r *http.Request) {
	s.serve(&s.dnOps, w, r, dnJSONType, s.datanode)
}

func (s *Server) datanode(w http.ResponseWriter, r *http.Request, op, p string, perr error) error {
	if perr != nil {
		return perr
	}
	q := r.URL.Query()
	pr, err := parseParams(q)
	if err != nil {
		return err
	}
	nnID := q.Get("namenoderpcaddress")
	if nnID == "" {
		return badArg("namenoderpcaddress is not specified.")
	}
	user := q.Get("user.name")
	if user == "" {
		user = defaultUser
	}
	switch r.Method + " " + op {
	case "PUT CREATE", "POST APPEND":
		return s.write(w, r, p, pr, op == "CREATE", user, nnID)
	case "GET OPEN":
		s.mu.Lock()
		n := s.lookup(p)
		var data []byte
		switch {
		case n == nil:
			err = notFound("File does not exist: %s", p)
		case n.dir:
			err = notFound("Path is not a file: %s", p)
		case pr.offset > int64(len(n.data)):
			err = rerr(403, "EOFException", "Cannot seek after EOF")
		default:
			data = n.data[pr.offset:]
			if pr.length >= 0 && pr.length < int64(len(data)) {
				data = data[:pr.length]
			}
			data = bytes.Clone(data)
			n.atime = now()
		}
		s.mu.Unlock()
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", octets)
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data)
		return nil
	}
	return badArg("Invalid operation %s", op)
}

// write runs a CREATE or APPEND upload: the inode and its lease first, as
// DFSClient.create/append do, then the body.
func (s *Server) write(w http.ResponseWriter, r *http.Request, p string, pr params, create bool, user, nnID string) error {
	client, _, _ := net.SplitHostPort(r.RemoteAddr)
	s.mu.Lock()
	n, err := s.startWrite(p, pr, create, user, client)
	fail := err == nil && s.dnFails > 0
	if fail {
		s.dnFails--
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	data, rdErr := io.ReadAll(r.Body)
	if fail {
		data = data[:len(data)/2]
	}
	s.mu.Lock()
	n.data = append(n.data, data...)
	n.mtime, n.writing = now(), false
	s.mu.Unlock()
	switch {
	case fail:
		return rerr(500, "IOException", "All datanodes [DatanodeInfoWithStorage[%s,DS-webhdfstest,DISK]] are bad. Aborting...", r.Host)
	case rdErr != nil:
		return ioErr("%v", rdErr)
	case create:
		w.Header().Set("Location", (&url.URL{Scheme: "hdfs", Host: nnID, Path: p}).String())
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusCreated)
	default:
		w.Header().Set("Content-Length", "0")
	}
	return nil
}

func (s *Server) startWrite(p string, pr params, create bool, user, client string) (*node, error) {
	n := s.lookup(p)
	leased := func(what string) error {
		return rerr(403, "AlreadyBeingCreatedException", "Failed to %s %s for DFSClient_NONMAPREDUCE_webhdfstest on %s "+
			"because this file lease is currently owned by DFSClient_NONMAPREDUCE_webhdfstest on %s", what, p, client, client)
	}
	if !create {
		switch {
		case n == nil:
			return nil, notFound("File does not exist: %s", p)
		case n.dir:
			return nil, notFound("Path is not a file: %s", p)
		case n.writing:
			return nil, leased("APPEND_FILE")
		}
		n.writing = true
		return n, nil
	}
	switch {
	case n != nil && n.dir:
		return nil, rerr(403, "FileAlreadyExistsException", "%s already exists as a directory", p)
	case n != nil && n.writing:
		return nil, leased("CREATE_FILE")
	case n != nil && !pr.overwrite:
		return nil, rerr(403, "FileAlreadyExistsException", "%s for client %s already exists", p, client)
	}
	var dir *node
	var err error
	if parent := path.Dir(p); pr.createParent {
		dir, err = s.mkdirAll(parent, 0o755, user)
	} else if dir = s.lookup(parent); dir == nil {
		err = notFound("Parent directory doesn't exist: %s", parent)
	} else if !dir.dir {
		err = rerr(403, "ParentNotDirectoryException", "Parent path is not a directory: %s", parent)
	}
	if err != nil {
		return nil, err
	}
	perm := pr.perm
	if perm < 0 {
		perm = 0o644
	}
	n = s.newNode(path.Base(p), false, perm, user, now())
	n.repl, n.block, n.writing = pr.repl, pr.block, true
	s.attach(dir, n)
	return n, nil
}
