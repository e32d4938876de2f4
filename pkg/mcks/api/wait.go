package api

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultPollInterval is how often the cluster is read while the server provisions.
const DefaultPollInterval = 5 * time.Second

// CreateOptions say how Create waits.
type CreateOptions struct {
	// Wait keeps Create until provisioning has ended. Without it Create
	// returns as soon as the server shows the new cluster.
	Wait bool
	// PollInterval between reads of the cluster; DefaultPollInterval if 0.
	PollInterval time.Duration
	// Progress, if set, gets every state of the cluster that differs from
	// the one before (phase, reason, node count).
	Progress func(*Cluster)
}

// CreateResult is what Create saw last.
type CreateResult struct {
	Cluster *Cluster
	// Done is true when the server answered the create: provisioning ended.
	Done bool
}

// AlreadyExistsError is a create of a name the namespace already holds.
type AlreadyExistsError struct {
	Name, Namespace, Phase string
}

func (e *AlreadyExistsError) Error() string {
	phase := ""
	if e.Phase != "" {
		phase = ", phase " + e.Phase
	}
	return fmt.Sprintf("cluster %q already exists in MCKS namespace %q%s", e.Name, e.Namespace, phase)
}

// StillProvisioningError is a wait that ended (timeout, Ctrl-C) before the
// server did. The server goes on provisioning.
type StillProvisioningError struct {
	Name string
	Last *Cluster // the last state read, nil if none
	Err  error    // the context's error
}

func (e *StillProvisioningError) Error() string {
	state := "not yet shown by the server"
	if e.Last != nil {
		cp, w := e.Last.CountRoles()
		state = fmt.Sprintf("last phase %s, %d control-plane and %d worker nodes", orUnknown(e.Last.Status.Phase), cp, w)
	}
	return fmt.Sprintf("cluster %q is still being provisioned (%s): %v", e.Name, state, e.Err)
}

func (e *StillProvisioningError) Unwrap() error { return e.Err }

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// Create creates a cluster. The MCKS POST answers only when provisioning has
// ended, minutes later, so Create keeps it open in the background and reads
// the cluster meanwhile to report progress. ctx bounds the whole wait; when
// it ends first the error is a *StillProvisioningError. When Create returns
// before the POST has answered (no Wait, timeout) the connection is closed:
// the MCKS server does not tie provisioning to the request and carries on.
func (c *Client) Create(ctx context.Context, req *ClusterReq, opts CreateOptions) (*CreateResult, error) {
	body := req.Defaulted()
	if err := body.Validate(); err != nil {
		return nil, err
	}
	// A POST of an existing name would be refused only after the server has
	// looked at the clouds; and a poll would mistake the old cluster for the new.
	switch old, err := c.GetCluster(ctx, body.Name); {
	case err == nil:
		return nil, &AlreadyExistsError{Name: body.Name, Namespace: c.namespace, Phase: old.Status.Phase}
	case !IsNotFound(err):
		return nil, err
	}

	interval := opts.PollInterval
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	var last *Cluster
	report := func(cl *Cluster) {
		if opts.Progress != nil && progressed(last, cl) {
			opts.Progress(cl)
		}
		last = cl
	}
	created, done, err := longCall(ctx, interval,
		func(ctx context.Context) (*Cluster, error) { return c.CreateCluster(ctx, &body) },
		func(ctx context.Context) bool {
			cl, err := c.GetCluster(ctx, body.Name)
			if err != nil {
				// Not stored yet, or a hiccup: the POST's answer decides.
				return false
			}
			report(cl)
			return !opts.Wait
		})
	switch {
	case err != nil && !done:
		return nil, &StillProvisioningError{Name: body.Name, Last: last, Err: err}
	case err != nil:
		// The server answers a failed create with the reason's message only;
		// its record shows the phase it ended in.
		if opts.Progress != nil {
			if cl, getErr := c.GetCluster(ctx, body.Name); getErr == nil {
				report(cl)
			}
		}
		return nil, err
	case done:
		report(created)
		return &CreateResult{Cluster: created, Done: true}, nil
	default:
		return &CreateResult{Cluster: last, Done: false}, nil
	}
}

// AddNodesWatching adds nodes like AddNodes and, while the server works,
// reports the cluster's node count through progress whenever it changes.
func (c *Client) AddNodesWatching(ctx context.Context, cluster string, req *NodeReq, interval time.Duration, progress func(nodes int)) (*NodeList, error) {
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	seen := -1
	added, done, err := longCall(ctx, interval,
		func(ctx context.Context) (*NodeList, error) { return c.AddNodes(ctx, cluster, req) },
		func(ctx context.Context) bool {
			if nodes, err := c.ListNodes(ctx, cluster); err == nil && len(nodes.Items) != seen {
				seen = len(nodes.Items)
				if progress != nil {
					progress(seen)
				}
			}
			return false
		})
	if err != nil && !done {
		return nil, fmt.Errorf("nodes are still being added to cluster %q: %w", cluster, err)
	}
	return added, err
}

// longCall runs call, which answers only when the server is done, and runs
// poll every interval meanwhile; poll returns true to stop waiting. done
// reports whether call answered. A ctx that ends first gives its cause.
func longCall[T any](ctx context.Context, interval time.Duration, call func(context.Context) (T, error), poll func(context.Context) bool) (result T, done bool, err error) {
	callCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	type answer struct {
		v   T
		err error
	}
	answers := make(chan answer, 1)
	go func() {
		v, err := call(callCtx)
		answers <- answer{v, err}
	}()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case a := <-answers:
			if a.err != nil && ctx.Err() != nil {
				return result, false, context.Cause(ctx)
			}
			return a.v, true, a.err
		case <-ctx.Done():
			return result, false, context.Cause(ctx)
		case <-ticker.C:
			if poll(ctx) {
				return result, false, nil
			}
		}
	}
}

// progressed reports whether cur is worth a progress line after prev.
func progressed(prev, cur *Cluster) bool {
	if cur == nil {
		return false
	}
	if prev == nil {
		return true
	}
	return prev.Status != cur.Status || len(prev.Nodes) != len(cur.Nodes)
}

// IsStillProvisioning reports whether err is a wait that ended before the server.
func IsStillProvisioning(err error) bool {
	var e *StillProvisioningError
	return errors.As(err, &e)
}
