package hdfs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// client speaks WebHDFS (Hadoop's REST API on the namenode's HTTP port):
// /webhdfs/v1/<path>?op=..., with CREATE going to the datanode the
// namenode redirects to.
type client struct {
	base *url.URL
	user string
	hc   *http.Client
}

func newClient(s *settings) *client {
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
	return &client{base: s.base, user: s.user, hc: &http.Client{
		Transport: tr,
		Timeout:   s.timeout,
		// The two-step CREATE is followed by hand: the data goes only to
		// the datanode.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// RemoteError is an error WebHDFS answered with: its RemoteException.
type RemoteError struct {
	Op        string
	Path      string
	Status    int
	Exception string // e.g. FileNotFoundException
	Message   string
}

func (e *RemoteError) Error() string {
	s := fmt.Sprintf("webhdfs %s %s: %d", e.Op, e.Path, e.Status)
	if e.Exception != "" {
		s += " " + e.Exception
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// transient reports whether err is worth retrying: connection errors,
// timeouts, a standby or busy namenode, server errors. Refusals
// (permissions, quotas, bad paths) are not.
func transient(err error) bool {
	var re *RemoteError
	if errors.As(err, new(permanent)) {
		return false
	}
	if !errors.As(err, &re) {
		return true // transport error
	}
	switch re.Exception {
	case "StandbyException", "RetriableException", "SafeModeException", "ObserverRetryOnActiveException":
		return true
	case "AccessControlException", "FileAlreadyExistsException", "FileNotFoundException", "ParentNotDirectoryException",
		"DSQuotaExceededException", "NSQuotaExceededException", "InvalidPathException", "IllegalArgumentException":
		return false
	}
	return re.Status >= 500 || re.Status == http.StatusTooManyRequests
}

func (c *client) url(path, op string, q url.Values) string {
	if q == nil {
		q = url.Values{}
	}
	q.Set("op", op)
	if c.user != "" {
		q.Set("user.name", c.user)
	}
	u := *c.base
	u.Path = c.base.Path + "/webhdfs/v1" + path
	u.RawQuery = q.Encode()
	return u.String()
}

// call sends one request and decodes a JSON answer into out (if not nil).
func (c *client) call(ctx context.Context, method, rawURL, op, path string, body []byte, want int, out any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("webhdfs %s %s: %w", op, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("webhdfs %s %s: reading the response: %w", op, path, err)
	}
	if resp.StatusCode != want {
		re := &RemoteError{Op: op, Path: path, Status: resp.StatusCode}
		var env struct {
			RemoteException struct {
				Exception string `json:"exception"`
				Message   string `json:"message"`
			} `json:"RemoteException"`
		}
		if json.Unmarshal(b, &env) == nil && env.RemoteException.Exception != "" {
			re.Exception, re.Message = env.RemoteException.Exception, env.RemoteException.Message
		} else if len(b) > 0 {
			re.Message = string(b[:min(len(b), 300)])
		}
		return resp, re
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			// Not WebHDFS (a proxy's page?): retrying will not change it.
			return resp, permanent{fmt.Errorf("webhdfs %s %s: answer %q: %w", op, path, b[:min(len(b), 300)], err)}
		}
	}
	return resp, nil
}

// create writes data to path in one request pair (overwriting: a retry
// after a failure mid-way starts over).
func (c *client) create(ctx context.Context, path string, data []byte) error {
	resp, err := c.call(ctx, http.MethodPut, c.url(path, "CREATE", url.Values{"overwrite": {"true"}}), "CREATE", path, nil, http.StatusTemporaryRedirect, nil)
	if err != nil {
		return err
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return &RemoteError{Op: "CREATE", Path: path, Status: resp.StatusCode, Message: "redirect without a Location"}
	}
	_, err = c.call(ctx, http.MethodPut, loc, "CREATE", path, data, http.StatusCreated, nil)
	return err
}

type boolean struct {
	Boolean bool `json:"boolean"`
}

func (c *client) mkdirs(ctx context.Context, path string) error {
	var b boolean
	if _, err := c.call(ctx, http.MethodPut, c.url(path, "MKDIRS", nil), "MKDIRS", path, nil, http.StatusOK, &b); err != nil {
		return err
	}
	if !b.Boolean {
		return &RemoteError{Op: "MKDIRS", Path: path, Status: http.StatusOK, Message: "the namenode answered false"}
	}
	return nil
}

// rename moves src to dst; false means HDFS refused (dst exists, src or
// dst's parent missing).
func (c *client) rename(ctx context.Context, src, dst string) (bool, error) {
	var b boolean
	_, err := c.call(ctx, http.MethodPut, c.url(src, "RENAME", url.Values{"destination": {dst}}), "RENAME", src, nil, http.StatusOK, &b)
	return b.Boolean, err
}

func (c *client) delete(ctx context.Context, path string) error {
	_, err := c.call(ctx, http.MethodDelete, c.url(path, "DELETE", url.Values{"recursive": {"false"}}), "DELETE", path, nil, http.StatusOK, nil)
	return err
}

type fileStatus struct {
	PathSuffix string `json:"pathSuffix"`
	Type       string `json:"type"` // FILE, DIRECTORY
	Length     int64  `json:"length"`
}

// list returns a directory's entries, or nil if it does not exist.
func (c *client) list(ctx context.Context, dir string) ([]fileStatus, error) {
	var out struct {
		FileStatuses struct {
			FileStatus []fileStatus `json:"FileStatus"`
		} `json:"FileStatuses"`
	}
	_, err := c.call(ctx, http.MethodGet, c.url(dir, "LISTSTATUS", nil), "LISTSTATUS", dir, nil, http.StatusOK, &out)
	var re *RemoteError
	if errors.As(err, &re) && re.Status == http.StatusNotFound {
		return nil, nil
	}
	return out.FileStatuses.FileStatus, err
}

// length returns a file's length, or -1 if it does not exist.
func (c *client) length(ctx context.Context, path string) (int64, error) {
	var out struct {
		FileStatus fileStatus `json:"FileStatus"`
	}
	_, err := c.call(ctx, http.MethodGet, c.url(path, "GETFILESTATUS", nil), "GETFILESTATUS", path, nil, http.StatusOK, &out)
	var re *RemoteError
	if errors.As(err, &re) && re.Status == http.StatusNotFound {
		return -1, nil
	}
	if err != nil {
		return 0, err
	}
	return out.FileStatus.Length, nil
}

// padded renders an offset zero-padded to width digits.
func padded(n int64, width int) string {
	s := strconv.FormatInt(n, 10)
	for len(s) < width {
		s = "0" + s
	}
	return s
}
