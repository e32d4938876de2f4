package openmcp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/fatih/color"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

// LogsOptions are the options of `kubectl openmcp logs`.
type LogsOptions struct {
	Selection      *fleet.SelectionFlags
	FanOut         *fleet.FanOutFlags
	Container      string
	AllContainers  bool
	Follow         bool
	Since          time.Duration
	Tail           int64
	Timestamps     bool
	Prefix         bool
	MaxLogRequests int

	root      *cli.Root
	object    string
	namespace string
	fleet     *fleet.Fleet
	genericiooptions.IOStreams
}

// NewCmdLogs is `kubectl openmcp logs`.
func NewCmdLogs(root *cli.Root) *cobra.Command {
	o := &LogsOptions{
		root: root, IOStreams: root.Streams,
		Selection: fleet.NewSelectionFlags(false, true), FanOut: fleet.NewFanOutFlags(),
		Tail: -1, Prefix: true, MaxLogRequests: 64,
	}
	cmd := &cobra.Command{
		Use:   "logs (TYPE/NAME | POD) (--all-clusters | --clusters C1,C2 | -C SELECTOR) [flags]",
		Short: "Print the logs of a workload's pods in every member cluster",
		Long: `Print the logs of every pod of a workload (deploy/web, sts/db, ds/agent,
rs/web-5d9, job/migrate) or of the pods of one name, in every chosen member.
Each line starts with CLUSTER/POD/CONTAINER (--prefix=false leaves it out),
coloured per cluster on a terminal. Without -c, each pod's default container
(annotation kubectl.kubernetes.io/default-container, else the first);
--all-containers reads every container.

Pods are read side by side, at most --max-log-requests streams at once; -f
keeps one stream per pod open and refuses to open more than
--max-log-requests. A member that fails, or whose stream breaks, is named once
on stderr while the others go on; the exit code is then 1. What the pods
print is shown with its control characters made visible (ESC as ^[).`,
		Example: `  # Logs of every pod of deployment web in every member
  kubectl openmcp logs deploy/web -n web --all-clusters

  # Follow them in Asia, the last 10 lines of each first
  kubectl openmcp logs deploy/web -n web -C topology.kubernetes.io/region=AS -f --tail 10`,
		Args: cli.ExactArgs(1),
		RunE: cli.Run(o),
	}
	o.Selection.AddFlags(cmd)
	o.FanOut.AddFlags(cmd.Flags())
	f := cmd.Flags()
	f.StringVarP(&o.Container, "container", "c", "", "Print the logs of this container")
	f.BoolVar(&o.AllContainers, "all-containers", false, "Print the logs of every container of each pod")
	f.BoolVarP(&o.Follow, "follow", "f", false, "Stream the logs as they are written")
	f.DurationVar(&o.Since, "since", 0, "Only lines newer than this, e.g. 5s, 2m, 3h")
	f.Int64Var(&o.Tail, "tail", o.Tail, "Lines of recent log to show per container; -1 shows all")
	f.BoolVar(&o.Timestamps, "timestamps", false, "Include the timestamp of each line")
	f.BoolVar(&o.Prefix, "prefix", o.Prefix, "Start each line with CLUSTER/POD/CONTAINER")
	f.IntVar(&o.MaxLogRequests, "max-log-requests", o.MaxLogRequests, "Log streams open at the same time")
	return cmd
}

// Complete reads the argument and -n, and finds the host (no request yet).
func (o *LogsOptions) Complete(cmd *cobra.Command, args []string) error {
	o.object = args[0]
	var err error
	o.fleet, o.namespace, err = openForReading(o.root, cmd, o.FanOut, o.Validate)
	return err
}

// Validate checks the flags before any request.
func (o *LogsOptions) Validate() error {
	if err := validateFanOut(o.Selection, o.FanOut); err != nil {
		return err
	}
	if o.MaxLogRequests < 1 {
		return cli.Usagef("invalid --max-log-requests %d: must be at least 1", o.MaxLogRequests)
	}
	if o.Tail < -1 {
		return cli.Usagef("invalid --tail %d: -1 (all) or more", o.Tail)
	}
	if o.Since < 0 {
		return cli.Usagef("invalid --since %s: must be positive", o.Since)
	}
	if o.Container != "" && o.AllContainers {
		return cli.Usagef("-c and --all-containers: give one of them")
	}
	if kind, name, ok := strings.Cut(o.object, "/"); ok {
		if _, known := workloadResources[strings.ToLower(kind)]; !known || name == "" {
			return cli.Usagef("invalid %q: want POD or TYPE/NAME with TYPE one of deploy, sts, ds, rs, job, pod", o.object)
		}
	}
	return nil
}

// workloadResources are the kinds whose pods logs reads, by what users type.
var workloadResources = map[string]schema.GroupVersionResource{}

func init() {
	apps := func(r string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: r}
	}
	batch := schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
	for _, n := range []string{"deploy", "deployment", "deployments", "deployment.apps", "deployments.apps"} {
		workloadResources[n] = apps("deployments")
	}
	for _, n := range []string{"sts", "statefulset", "statefulsets", "statefulset.apps", "statefulsets.apps"} {
		workloadResources[n] = apps("statefulsets")
	}
	for _, n := range []string{"ds", "daemonset", "daemonsets", "daemonset.apps", "daemonsets.apps"} {
		workloadResources[n] = apps("daemonsets")
	}
	for _, n := range []string{"rs", "replicaset", "replicasets", "replicaset.apps", "replicasets.apps"} {
		workloadResources[n] = apps("replicasets")
	}
	for _, n := range []string{"job", "jobs", "job.batch", "jobs.batch"} {
		workloadResources[n] = batch
	}
	for _, n := range []string{"po", "pod", "pods"} {
		workloadResources[n] = corev1.SchemeGroupVersion.WithResource("pods")
	}
}

// logStream is one container of one pod of one cluster.
type logStream struct {
	cluster   *fleet.Cluster
	pod       string
	container string
}

// Run finds the pods in every cluster, then streams their logs.
func (o *LogsOptions) Run(ctx context.Context) error {
	clusters, err := o.fleet.Select(ctx, o.Selection.Selection())
	if err != nil {
		return err
	}
	found := fleet.Each(ctx, o.fleet, clusters, func(ctx context.Context, c *fleet.Cluster) ([]logStream, error) {
		return o.streamsOf(ctx, c)
	})
	var streams []logStream
	failed := false
	for _, r := range found {
		failed = failed || r.Err != nil
		streams = append(streams, r.Value...)
	}
	if len(streams) == 0 {
		if failed {
			return &cli.SilentError{Code: cli.ExitError}
		}
		return fmt.Errorf("no pods of %s in namespace %s of any of the %d clusters", o.object, o.namespace, len(clusters))
	}
	if o.Follow && len(streams) > o.MaxLogRequests {
		return cli.Usagef("following %d containers needs as many open streams: more than --max-log-requests %d (raise it, or choose fewer clusters with -C)", len(streams), o.MaxLogRequests)
	}
	if o.stream(ctx, streams) || failed {
		return &cli.SilentError{Code: cli.ExitError}
	}
	return nil
}

// streamsOf lists the containers whose logs a cluster holds for the object.
func (o *LogsOptions) streamsOf(ctx context.Context, c *fleet.Cluster) ([]logStream, error) {
	kube, err := c.Kube()
	if err != nil {
		return nil, err
	}
	var pods []corev1.Pod
	kind, name, isRef := strings.Cut(o.object, "/")
	gvr := workloadResources[strings.ToLower(kind)]
	switch {
	case !isRef || gvr.Resource == "pods":
		if !isRef {
			name = o.object
		}
		p, err := kube.CoreV1().Pods(o.namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		pods = []corev1.Pod{*p}
	default:
		dyn, err := c.Dynamic()
		if err != nil {
			return nil, err
		}
		obj, err := dyn.Resource(gvr).Namespace(o.namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		var sel metav1.LabelSelector
		if m, ok := obj.Object["spec"].(map[string]any)["selector"].(map[string]any); ok {
			if ml, ok := m["matchLabels"].(map[string]any); ok {
				sel.MatchLabels = map[string]string{}
				for k, v := range ml {
					sel.MatchLabels[k] = fmt.Sprint(v)
				}
			}
			if me, ok := m["matchExpressions"].([]any); ok {
				for _, e := range me {
					em, _ := e.(map[string]any)
					req := metav1.LabelSelectorRequirement{Key: fmt.Sprint(em["key"]), Operator: metav1.LabelSelectorOperator(fmt.Sprint(em["operator"]))}
					vals, _ := em["values"].([]any)
					for _, v := range vals {
						req.Values = append(req.Values, fmt.Sprint(v))
					}
					sel.MatchExpressions = append(sel.MatchExpressions, req)
				}
			}
		}
		selector, err := metav1.LabelSelectorAsSelector(&sel)
		if err != nil || selector.Empty() {
			return nil, fmt.Errorf("%s has no usable pod selector", o.object)
		}
		list, err := kube.CoreV1().Pods(o.namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
		if err != nil {
			return nil, err
		}
		pods = list.Items
	}
	var out []logStream
	for _, p := range pods {
		for _, ctr := range o.containersOf(&p) {
			out = append(out, logStream{cluster: c, pod: p.Name, container: ctr})
		}
	}
	return out, nil
}

func (o *LogsOptions) containersOf(p *corev1.Pod) []string {
	switch {
	case o.Container != "":
		for _, c := range p.Spec.Containers {
			if c.Name == o.Container {
				return []string{c.Name}
			}
		}
		return nil
	case o.AllContainers:
		names := make([]string, len(p.Spec.Containers))
		for i, c := range p.Spec.Containers {
			names[i] = c.Name
		}
		return names
	}
	if d := p.Annotations["kubectl.kubernetes.io/default-container"]; d != "" {
		return []string{d}
	}
	if len(p.Spec.Containers) > 0 {
		return []string{p.Spec.Containers[0].Name}
	}
	return nil
}

// endedWhy tells a followed stream that ended because its container did
// (nothing to report) from one whose cluster went away (an error).
func (o *LogsOptions) endedWhy(ctx context.Context, s logStream) error {
	if ctx.Err() != nil {
		return nil
	}
	kube, err := s.cluster.Kube()
	if err != nil {
		return err
	}
	_, err = kube.CoreV1().Pods(o.namespace).Get(ctx, s.pod, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("stream ended and the cluster does not answer: %w", err)
	}
	return nil
}

// clusterColors tell clusters apart on a terminal (fatih/color is off
// unless --color and the terminal allow it).
var clusterColors = []*color.Color{
	color.New(color.FgCyan), color.New(color.FgGreen), color.New(color.FgMagenta),
	color.New(color.FgYellow), color.New(color.FgBlue), color.New(color.FgRed),
}

// stream copies every container's log to Out, whole lines at a time, at
// most MaxLogRequests at once. It reports whether any stream failed; each
// cluster that failed is named once on stderr.
func (o *LogsOptions) stream(ctx context.Context, streams []logStream) bool {
	var mu sync.Mutex
	warned := map[string]bool{}
	failed := false
	colorOf := map[string]*color.Color{}
	for _, s := range streams {
		if _, ok := colorOf[s.cluster.Name]; !ok {
			colorOf[s.cluster.Name] = clusterColors[len(colorOf)%len(clusterColors)]
		}
	}
	out := bufio.NewWriter(o.Out)
	var g errgroup.Group
	g.SetLimit(o.MaxLogRequests)
	for _, s := range streams {
		g.Go(func() error {
			prefix := ""
			if o.Prefix {
				prefix = colorOf[s.cluster.Name].Sprint(termsafe.String(s.cluster.Name+"/"+s.pod+"/"+s.container)) + " "
			}
			err := o.copyLog(ctx, s, func(line string) {
				mu.Lock()
				defer mu.Unlock()
				out.WriteString(prefix + termsafe.String(line) + "\n")
				if o.Follow {
					out.Flush()
				}
			})
			if err != nil && ctx.Err() == nil {
				mu.Lock()
				failed = true
				if !warned[s.cluster.Name] {
					warned[s.cluster.Name] = true
					out.Flush()
					o.fleet.Warn(s.cluster.Name, fmt.Errorf("logs of %s/%s: %w", s.pod, s.container, err))
				}
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	out.Flush()
	return failed
}

// copyLog reads one container's log line by line. Without -f it is bounded
// by the cluster timeout; with -f it lasts until Ctrl-C or the stream ends.
func (o *LogsOptions) copyLog(ctx context.Context, s logStream, emit func(string)) error {
	cl, err := s.cluster.Streaming()
	if err != nil {
		return err
	}
	kube := cl.Kube
	opts := &corev1.PodLogOptions{Container: s.container, Follow: o.Follow, Timestamps: o.Timestamps}
	if o.Tail >= 0 {
		opts.TailLines = &o.Tail
	}
	if o.Since > 0 {
		secs := int64(o.Since.Seconds())
		opts.SinceSeconds = &secs
	}
	if !o.Follow {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.FanOut.Timeout)
		defer cancel()
	}
	rc, err := kube.CoreV1().Pods(o.namespace).GetLogs(s.pod, opts).Stream(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	// A line longer than the buffer is printed in pieces: memory stays
	// one buffer per stream, whatever a container writes.
	r := bufio.NewReaderSize(rc, 64<<10)
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 {
			emit(strings.TrimRight(string(line), "\r\n"))
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			if o.Follow {
				return o.endedWhy(ctx, s)
			}
			return nil
		default:
			return err
		}
	}
}
