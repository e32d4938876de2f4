package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

type getRow struct {
	RTT, HostRTT time.Duration
	N            int
	Cold         bool
	Resource     string
	Tool         string
	Note         string // an extra row (host near, -A); "" for the main table
	Wall         time.Duration
	CPU          time.Duration // user+sys of the whole process tree, median
	Runs         int
	RSSKB        int64
}

type report struct {
	cfg       *config
	machine   string
	startup   []*startupRow
	sizes     []sizeRow
	startupIO string
	rows      []getRow
	floors    map[floorKey]time.Duration
	nFloors   map[floorKey]time.Duration
	join      []joinRow
	exec      []execRow
	failed    []string // extra rows left out, and why
	elapsed   time.Duration
	loadEnd   string
}

// table is printed as aligned text on stdout and as Markdown for the docs.
type table struct {
	title  string
	header []string
	rows   [][]string
	notes  []string
}

func (t table) text(w io.Writer) {
	fmt.Fprintf(w, "\n== %s\n", t.title)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.header, "\t"))
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
	for _, n := range t.notes {
		fmt.Fprintln(w, "  "+n)
	}
}

func (t table) markdown(w io.Writer) {
	fmt.Fprintf(w, "\n### %s\n\n", t.title)
	fmt.Fprintln(w, "| "+strings.Join(t.header, " | ")+" |")
	seps := make([]string, len(t.header))
	for i := range seps {
		seps[i] = "---"
	}
	fmt.Fprintln(w, "|"+strings.Join(seps, "|")+"|")
	for _, r := range t.rows {
		fmt.Fprintln(w, "| "+strings.Join(r, " | ")+" |")
	}
	if len(t.notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range t.notes {
			fmt.Fprintln(w, "- "+n)
		}
	}
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\nkubectl-openmcp benchmark (issue 10): %s\n", r.machine)
	fmt.Fprintf(w, "command: %s (%s, load average at the end %s)\n", r.commandLine(), r.elapsed.Round(time.Second), r.loadEnd)
	for _, t := range r.tables() {
		t.text(w)
	}
}

func (r *report) writeMarkdown(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(f, "Machine: %s\n\nCommand: `%s` (took %s, load average at the end %s)\n", r.machine, r.commandLine(), r.elapsed.Round(time.Second), r.loadEnd)
	for _, t := range r.tables() {
		t.markdown(f)
	}
	return nil
}

func (r *report) commandLine() string {
	args := strings.Join(os.Args[1:], " ")
	if r.cfg.Quick && !strings.Contains(args, "quick") {
		args = strings.TrimSpace(args + " (BENCH_QUICK=1)")
	}
	return strings.TrimSpace("go run ./test/bench " + args)
}

func (r *report) tables() []table {
	ts := []table{r.getTable()}
	if len(r.exec) > 0 {
		ts = append(ts, r.execTable())
	}
	ts = append(ts, r.targetTable(), r.startupTable(), r.sizeTable())
	if len(r.join) > 0 {
		ts = append(ts, r.joinTable())
	}
	return ts
}

func (r *report) oursStartup() time.Duration {
	for _, s := range r.startup {
		if s.Name == "kubectl-openmcp version" {
			return s.Wall
		}
	}
	return 0
}

// find returns the row of a tool in a cell; note picks an extra row.
func (r *report) find(rtt time.Duration, n int, cold bool, res, tool, note string) (getRow, bool) {
	for _, row := range r.rows {
		if row.RTT == rtt && row.N == n && row.Cold == cold && row.Resource == res && row.Tool == tool && row.Note == note {
			return row, true
		}
	}
	return getRow{}, false
}

func (r *report) floor(rtt time.Duration, res string, cold bool) time.Duration {
	return r.oursStartup() + r.floors[floorKey{0, rtt, res, cold}]
}

func (r *report) getTable() table {
	t := table{
		title:  "get across N clusters (one apiserver behind N delaying proxies)",
		header: []string{"RTT", "N", "CACHE", "COMMAND", "WALL", "CPU", "RUNS", "/OUR N=1", "PEER/US", "PEAK RSS", "FLOOR", "/FLOOR", "N-FLOOR"},
	}
	rows := append([]getRow(nil), r.rows...)
	order := func(tool string) int {
		switch {
		case tool == toolOurs:
			return 0
		case tool == toolLoop:
			return 2
		default:
			return 1
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.RTT != b.RTT {
			return a.RTT < b.RTT
		}
		if a.N != b.N {
			return a.N < b.N
		}
		if a.Cold != b.Cold {
			return !a.Cold
		}
		if a.Resource != b.Resource {
			return a.Resource == "pods"
		}
		if a.Note != b.Note {
			return a.Note < b.Note
		}
		return order(a.Tool) < order(b.Tool)
	})
	for _, row := range rows {
		name := row.Tool + " " + row.Resource
		if row.Resource == "events" { // a verb of its own
			name = "kubectl openmcp events"
		}
		if row.Note != "" {
			name += " (" + row.Note + ")"
		}
		vsN1, peer := "", ""
		if row.Tool == toolOurs {
			if base, ok := r.find(row.RTT, 1, row.Cold, row.Resource, toolOurs, ""); ok && base.Wall > 0 {
				vsN1 = ratio(row.Wall, base.Wall)
			}
		} else if us, ok := r.find(row.RTT, row.N, row.Cold, row.Resource, toolOurs, ""); ok && us.Wall > 0 {
			peer = ratio(row.Wall, us.Wall)
		}
		floor := r.floor(row.RTT, row.Resource, row.Cold)
		nFloor := r.oursStartup() + r.nFloors[floorKey{row.N, row.RTT, row.Resource, row.Cold}]
		t.rows = append(t.rows, []string{
			fmtRTT(row.RTT), strconv.Itoa(row.N), cacheName(row.Cold), name, secs(row.Wall), secs(row.CPU), strconv.Itoa(row.Runs),
			vsN1, peer, mib(row.RSSKB), secs(floor), ratio(row.Wall, floor), secs(nFloor),
		})
	}
	host := "the host (context openmcp, where the KubeFedClusters are read) is behind a proxy at the same RTT as the members"
	if r.cfg.HostRTT != "same" {
		host = "the host (context openmcp) is behind a proxy at " + r.cfg.HostRTT
	}
	t.notes = []string{
		"WALL: median of RUNS runs, fork to exit, output read through a pipe and checked (every cluster's every object listed). CPU: median user+sys time of the command's processes (less sensitive than WALL to other load on the machine).",
		fmt.Sprintf("Commands: `%s --all-clusters -n %s --max-parallel max(N,16)` (above N=64 also `--cluster-timeout 5m`, so that the untimed first run, which fills N discovery caches from one apiserver, finishes); `for ctx in cluster1..N; do kubectl get pods -n %s --context $ctx; done`; `printf 'cluster%%d\\n' ... | xargs -P %d -n 1 kubectl get pods -n %s --context`. cold = a fresh empty --cache-dir per run (discovery from the server, no remembered members), warm = a --cache-dir filled by an untimed run (discovery, and the member list get remembers).",
			toolOurs+" RESOURCE", benchNamespace, benchNamespace, r.cfg.XargsP, benchNamespace),
		"Each proxy delays every chunk by RTT/2 in each direction and holds a connection's first client bytes for one extra RTT (the TCP handshake that loopback skips); " + host + ".",
		fmt.Sprintf("FLOOR = start-up of `kubectl-openmcp version` (%s) + the fastest of %d runs of a minimal Go client through one proxy: TCP connect, TLS 1.3 handshake, [cold: GET /api and /apis at once], the Table list get makes (limit=500, includeObject=None), body read, not decoded.", secs(r.oursStartup()), r.cfg.FloorRuns),
		"N-FLOOR = the same start-up + N such minimal clients at once through N proxies (median of 3): what one apiserver on this machine can serve to N clusters' lists (in a real federation each cluster has its own apiserver).",
		"PEAK RSS: the largest process (for the loops, the largest kubectl; xargs runs up to " + strconv.Itoa(r.cfg.XargsP) + " at once). PEER/US = peer's wall / ours; /OUR N=1 = ours / ours at N=1.",
		"kubefedctl v0.10.0 has no get (its commands are join, unjoin, enable, disable, federate, orphaning): nothing to compare.",
	}
	for _, f := range r.failed {
		t.notes = append(t.notes, "Left out (failed): "+f)
	}
	if g := r.memoryGrowth(); g != "" {
		t.notes = append(t.notes, g)
	}
	return t
}

// targetCell is where the fan-out targets are judged: N=64 and 50 ms when
// measured, else the largest N and RTT of this run.
func (r *report) targetCell() (int, time.Duration, string) {
	n, rtt := r.cfg.maxN(), r.cfg.maxRTT()
	for _, x := range r.cfg.Ns {
		if x == 64 {
			n = 64
		}
	}
	for _, x := range r.cfg.RTTs {
		if x == 50*time.Millisecond {
			rtt = x
		}
	}
	note := ""
	if n != 64 || rtt != 50*time.Millisecond {
		note = fmt.Sprintf(" (judged at N=%d, %s: N=64, 50ms not measured in this run)", n, fmtRTT(rtt))
	}
	return n, rtt, note
}

func (r *report) targetTable() table {
	t := table{title: "targets (issue 10)", header: []string{"TARGET", "MEASURED", "LIMIT", "RESULT"}}
	add := func(name, measured, limit string, pass bool) {
		res := "MISS"
		if pass {
			res = "PASS"
		}
		t.rows = append(t.rows, []string{name, measured, limit, res})
	}
	n, rtt, note := r.targetCell()
	if note != "" {
		t.notes = append(t.notes, "Fan-out targets"+note+".")
	}
	cell := fmt.Sprintf("N=%d %s warm", n, fmtRTT(rtt))
	ratioRow := func(name string, a, b time.Duration, limit float64, atMost bool) {
		x := float64(a) / float64(b)
		pass := x <= limit
		op := "<="
		if !atMost {
			pass, op = x >= limit, ">="
		}
		add(name, fmt.Sprintf("%s / %s = %.2fx", secs(a), secs(b), x), fmt.Sprintf("%s %gx", op, limit), pass)
	}
	for _, res := range []string{"pods", "hpa"} {
		us, ok := r.find(rtt, n, false, res, toolOurs, "")
		base, ok1 := r.find(rtt, 1, false, res, toolOurs, "")
		if !ok || !ok1 {
			continue
		}
		ratioRow(fmt.Sprintf("get %s %s / our N=1", res, cell), us.Wall, base.Wall, 1.5, true)
		ratioRow(fmt.Sprintf("get %s %s / floor", res, cell), us.Wall, r.floor(rtt, res, false), 1.3, true)
		if near, ok := r.find(rtt, n, false, res, toolOurs, "host at 0ms"); ok {
			ratioRow(fmt.Sprintf("get %s %s, host at 0ms / floor", res, cell), near.Wall, r.floor(rtt, res, false), 1.3, true)
		}
	}
	if us, ok := r.find(rtt, n, false, "pods", toolOurs, ""); ok {
		if base, ok := r.find(rtt, 1, false, "pods", toolOurs, ""); ok {
			nf := r.oursStartup() + r.nFloors[floorKey{n, rtt, "pods", false}]
			t.notes = append(t.notes, fmt.Sprintf("One apiserver on this machine answers for all %d clusters: %d minimal clients at once (N-FLOOR, no decoding, no printing) already take %s, %.2fx our N=1 time; our get pods is %.2fx that.",
				n, n, secs(nf), float64(nf)/float64(base.Wall), float64(us.Wall)/float64(nf)))
		}
		if loop, ok := r.find(rtt, n, false, "pods", toolLoop, ""); ok {
			ratioRow("sequential kubectl loop / us, "+cell, loop.Wall, us.Wall, 30, false)
		}
		if xa, ok := r.find(rtt, n, false, "pods", fmt.Sprintf(toolXargs, r.cfg.XargsP), ""); ok {
			ratioRow(fmt.Sprintf("xargs -P %d kubectl / us, %s", r.cfg.XargsP, cell), xa.Wall, us.Wall, 3, false)
		}
		for _, note := range []string{"", "-A: rows with metadata"} {
			var rss int64
			for _, row := range r.rows {
				if row.Tool == toolOurs && row.N == n && row.Resource == "pods" && row.Note == note {
					rss = max(rss, row.RSSKB)
				}
			}
			if rss == 0 {
				continue
			}
			what := "any RTT, cold or warm"
			if note != "" {
				what = note + ", " + fmtRTT(rtt) + " warm"
			}
			add(fmt.Sprintf("peak RSS, get pods N=%d x %d pods (%s)", n, r.cfg.Pods, what), mib(rss), "<= 256 MiB", rss <= 256<<10)
		}
	}
	r.scaleTargets(add)
	r.execTargets(add)
	var kubectl time.Duration
	for _, s := range r.startup {
		if strings.HasSuffix(s.Name, ".cache/bin)") {
			kubectl = s.Wall
		}
	}
	for _, s := range r.startup {
		if strings.HasPrefix(s.Name, "kubectl-openmcp") && kubectl > 0 {
			x := float64(s.Wall) / float64(kubectl)
			add(s.Name+" vs kubectl version --client", fmt.Sprintf("%s / %s = %.2fx", ms(s.Wall), ms(kubectl), x), "<= 0.5x", x <= 0.5)
		}
	}
	if len(r.join) == 2 && r.join[1].Wall > 0 {
		x := float64(r.join[0].Wall) / float64(r.join[1].Wall)
		add("join 2 members vs kubefedctl join x2", fmt.Sprintf("%s / %s = %.2fx", secs(r.join[0].Wall), secs(r.join[1].Wall), x), "<= 0.5x", x <= 0.5)
	}
	var kubectlSize int64
	for _, s := range r.sizes {
		if s.Path != "" && strings.HasPrefix(s.Name, "kubectl v") && kubectlSize == 0 {
			kubectlSize = s.Bytes
		}
	}
	for _, s := range r.sizes {
		if strings.HasPrefix(s.Name, "kubectl-") && kubectlSize > 0 {
			add(s.Name+" binary size vs kubectl", fmt.Sprintf("%s / %s (stripped: %v)", mb(s.Bytes), mb(kubectlSize), s.Stripped), "< kubectl", s.Bytes < kubectlSize)
		}
	}
	return t
}

func (r *report) startupTable() table {
	t := table{title: "start-up", header: []string{"COMMAND", "MEDIAN", "MIN", "RUNS", "PEAK RSS", "/KUBECTL"}}
	var kubectl time.Duration
	for _, s := range r.startup {
		if strings.HasSuffix(s.Name, ".cache/bin)") {
			kubectl = s.Wall
		}
	}
	for _, s := range r.startup {
		t.rows = append(t.rows, []string{s.Name, ms(s.Wall), ms(s.Min), strconv.Itoa(len(s.walls)), mib(s.RSSKB), ratio(s.Wall, kubectl)})
	}
	t.notes = []string{
		"Runs interleaved round-robin after one warm-up run each. /KUBECTL = median / median of kubectl version --client (.cache/bin).",
		"strace of `kubectl-openmcp version`: " + r.startupIO,
	}
	return t
}

func (r *report) sizeTable() table {
	t := table{title: "binary sizes", header: []string{"BINARY", "BYTES", "SIZE", "STRIPPED", "/KUBECTL", "PATH"}}
	var kubectl int64
	for _, s := range r.sizes {
		if strings.HasPrefix(s.Name, "kubectl v") && kubectl == 0 {
			kubectl = s.Bytes
		}
	}
	for _, s := range r.sizes {
		x := ""
		if kubectl > 0 {
			x = fmt.Sprintf("%.2fx", float64(s.Bytes)/float64(kubectl))
		}
		t.rows = append(t.rows, []string{s.Name, strconv.FormatInt(s.Bytes, 10), mb(s.Bytes), strconv.FormatBool(s.Stripped), x, s.Path})
	}
	t.notes = []string{"Plugins as `make build` makes them (CGO_ENABLED=0, -trimpath, -ldflags '-s -w'). STRIPPED = no .symtab and no DWARF."}
	return t
}

func (r *report) joinTable() table {
	t := table{title: "join two members (sandbox host + 2 members, no added latency)", header: []string{"COMMAND", "MEDIAN", "RUNS", "PEAK RSS", "/KUBEFEDCTL"}}
	for _, j := range r.join {
		t.rows = append(t.rows, []string{j.Cmd, secs(j.Wall), strconv.Itoa(j.Runs), mib(j.RSSKB), ratio(j.Wall, r.join[len(r.join)-1].Wall)})
	}
	t.notes = []string{"Between rounds: `kubectl openmcp unjoin cluster1 cluster2 --wait` / `kubefedctl unjoin NAME --cluster-context NAME --host-cluster-context openmcp`, then a wait until no KubeFedCluster and no member kube-federation-system namespace is left."}
	return t
}

// memoryGrowth fits our peak RSS (get pods, target RTT, warm) against N by
// least squares, and compares the -A row (each row with its metadata) with
// the plain one at the same N.
func (r *report) memoryGrowth() string {
	n, rtt, _ := r.targetCell()
	var xs, ys []float64
	var plain int64
	for _, row := range r.rows {
		if row.Tool == toolOurs && row.RTT == rtt && !row.Cold && row.Resource == "pods" && row.Note == "" {
			xs, ys = append(xs, float64(row.N)), append(ys, float64(row.RSSKB)/1024)
			if row.N == n {
				plain = row.RSSKB
			}
		}
	}
	if len(xs) < 2 {
		return ""
	}
	var mx, my, sxy, sxx float64
	for i := range xs {
		mx, my = mx+xs[i]/float64(len(xs)), my+ys[i]/float64(len(ys))
	}
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	slope := sxy / sxx
	out := fmt.Sprintf("Memory (ours, get pods, %s warm, least squares over N): peak RSS = %.0f MiB + %.2f MiB per cluster of %d pods (%.1f KiB per listed pod, cells only, with the cluster's connection and discovery).",
		fmtRTT(rtt), my-slope*mx, slope, r.cfg.Pods, slope*1024/float64(r.cfg.Pods))
	if meta, ok := r.find(rtt, n, false, "pods", toolOurs, "-A: rows with metadata"); ok && plain > 0 {
		out += fmt.Sprintf(" With -A every row also carries its metadata (name, namespace, labels: managed fields and annotations are dropped as each answer arrives): %s at N=%d, %.1f KiB more per listed pod, most of it the answers of the clusters being decoded at the same time (--max-parallel).",
			mib(meta.RSSKB), n, float64(meta.RSSKB-plain)/float64(n*r.cfg.Pods))
	}
	return out
}

func fmtRTT(d time.Duration) string {
	if d == 0 {
		return "0ms"
	}
	return d.String()
}

func secs(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3fs", d.Seconds())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func mib(kb int64) string {
	if kb == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f MiB", float64(kb)/1024)
}

func mb(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func ratio(a, b time.Duration) string {
	if a == 0 || b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", float64(a)/float64(b))
}

// scaleTargets are issue 21's fleet-scale targets: get pods at 256 and 1024
// members (the largest RTT measured, warm) under 1.0 s and 3.0 s, with
// --max-parallel N and with the default, and peak RSS at 1024 x 500 pods.
func (r *report) scaleTargets(add func(name, measured, limit string, pass bool)) {
	rtt := r.cfg.maxRTT()
	for _, c := range []struct {
		n     int
		limit time.Duration
	}{{256, time.Second}, {1024, 3 * time.Second}} {
		for _, note := range []string{"", noteDefaultParallel} {
			row, ok := r.find(rtt, c.n, false, "pods", toolOurs, note)
			if !ok {
				continue
			}
			how := fmt.Sprintf("--max-parallel %d", max(c.n, 16))
			if note != "" {
				how = note
			}
			nf := r.oursStartup() + r.nFloors[floorKey{c.n, rtt, "pods", false}]
			add(fmt.Sprintf("get pods N=%d %s warm, %s (issue 21; N-FLOOR %s)", c.n, fmtRTT(rtt), how, secs(nf)), secs(row.Wall), "< "+secs(c.limit), row.Wall < c.limit)
		}
	}
	r.rowMemoryTargets(add)
	r.coldTargets(add)
	var rss int64
	for _, row := range r.rows {
		if row.Tool == toolOurs && row.N == 1024 && row.Resource == "pods" && row.Note != "-A: rows with metadata" {
			rss = max(rss, row.RSSKB)
		}
	}
	if rss > 0 {
		add(fmt.Sprintf("peak RSS, get pods N=1024 x %d pods (issue 21)", r.cfg.Pods), mib(rss), "< 512 MiB", rss < 512<<10)
	}
}

// coldTargets: a cold run (empty discovery cache, no remembered members)
// at 64 and 256 members within 2x the warm one (issue 21).
func (r *report) coldTargets(add func(name, measured, limit string, pass bool)) {
	_, rtt, _ := r.targetCell()
	for _, n := range []int{64, 256} {
		for _, res := range []string{"pods", "hpa"} {
			cold, ok1 := r.find(rtt, n, true, res, toolOurs, "")
			warm, ok2 := r.find(rtt, n, false, res, toolOurs, "")
			if !ok1 || !ok2 {
				continue
			}
			x := float64(cold.Wall) / float64(warm.Wall)
			add(fmt.Sprintf("get %s N=%d %s, cold / warm (issue 21)", res, n, fmtRTT(rtt)),
				fmt.Sprintf("%s / %s = %.2fx", secs(cold.Wall), secs(warm.Wall), x), "<= 2x", x <= 2)
		}
	}
}

// rowMemoryTargets: what a printed row costs, for the table and for each
// streamed format (issue 21: at most 0.5 KiB). get pods and get hpa at the
// same N read the same clusters through the same connections and
// discovery; they differ in rows (pods - hpas a cluster), so the difference
// of their peak RSS over that many rows is what a row costs, with the
// collector's slack (GOGC) on it.
func (r *report) rowMemoryTargets(add func(name, measured, limit string, pass bool)) {
	n, rtt, _ := r.targetCell()
	hpa, ok := r.find(rtt, n, false, "hpa", toolOurs, "")
	extraRows := n * (r.cfg.Pods - r.cfg.HPAs)
	if !ok || extraRows <= 0 {
		return
	}
	for _, note := range []string{"", noteNoHeaders, noteName} {
		row, ok := r.find(rtt, n, false, "pods", toolOurs, note)
		if !ok {
			continue
		}
		perRow := float64(row.RSSKB-hpa.RSSKB) / float64(extraRows)
		what := "table"
		if note != "" {
			what = note
		}
		add(fmt.Sprintf("memory per printed row, get pods vs get hpa N=%d %s warm, %s (issue 21)", n, fmtRTT(rtt), what),
			fmt.Sprintf("(%s - %s) / %d rows = %.2f KiB", mib(row.RSSKB), mib(hpa.RSSKB), extraRows, perRow), "<= 0.5 KiB", perRow <= 0.5)
	}
}

// execTargets: with the credential cache warm, the per-cluster plugin case
// within 1.2x of static tokens at N=64.
func (r *report) execTargets(add func(name, measured, limit string, pass bool)) {
	var static, warm execRow
	for _, row := range r.exec {
		if row.N != 64 {
			continue
		}
		switch {
		case row.Creds == credStatic:
			static = row
		case row.Creds == credPerCluster && row.Cache == "warm":
			warm = row
		}
	}
	if static.Wall == 0 || warm.Wall == 0 {
		return
	}
	x := float64(warm.Wall) / float64(static.Wall)
	add(fmt.Sprintf("per-cluster exec plugin, cache warm / static tokens, N=64 %s (issue 21)", fmtRTT(warm.RTT)),
		fmt.Sprintf("%s / %s = %.2fx", secs(warm.Wall), secs(static.Wall), x), "<= 1.2x", x <= 1.2)
}
