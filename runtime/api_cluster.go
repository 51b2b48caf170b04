package runtime

// Cluster views for the REST API. Self-contained: reads the group through
// the worker's client, never changes membership.

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// WorkerURLs returns the advertised REST URLs of the workers currently in
// the group, as they announced them when joining, sorted.
func (w *Worker) WorkerURLs(ctx context.Context) ([]string, error) {
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{w.groupID}
	resp, err := req.RequestWith(ctx, w.cl)
	if err != nil {
		return nil, fmt.Errorf("describe worker group %s: %w", w.groupID, err)
	}
	seen := map[string]bool{}
	for _, g := range resp.Groups {
		if err := kerr.ErrorForCode(g.ErrorCode); err != nil {
			return nil, fmt.Errorf("describe worker group %s: %w", w.groupID, err)
		}
		for _, m := range g.Members {
			var meta memberMeta
			if json.Unmarshal(m.ProtocolMetadata, &meta) == nil && meta.URL != "" {
				seen[meta.URL] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for u := range seen {
		out = append(out, u)
	}
	sort.Strings(out)
	return out, nil
}
