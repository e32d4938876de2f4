package federation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/write"
)

func countReviews(actions []k8stesting.Action) int {
	n := 0
	for _, a := range actions {
		if a.GetVerb() == "create" && a.GetResource().Resource == "selfsubjectaccessreviews" {
			n++
		}
	}
	return n
}

func TestAdminNeedsOneReviewPerCluster(t *testing.T) {
	_, want := joinPermissions("kfs", "Namespaced", true)
	admin := fakeAuthz()
	if denied := deniedPermissions(context.Background(), admin, want); len(denied) != 0 {
		t.Fatalf("admin denied %v", denied)
	}
	if n := countReviews(admin.Actions()); n != 1 {
		t.Errorf("admin: %d reviews, want the one of everything", n)
	}
	// Someone who may not do everything is asked about each permission.
	user := fakeAuthz("bind clusterroles")
	denied := deniedPermissions(context.Background(), user, want)
	if len(denied) != 1 || denied[0].String() != "bind clusterroles.rbac.authorization.k8s.io" {
		t.Errorf("denied %v", denied)
	}
	if n := countReviews(user.Actions()); n != 1+len(want) {
		t.Errorf("user: %d reviews, want %d", n, 1+len(want))
	}
}

func TestReviewOfEverythingThatFailsAsksEachPermission(t *testing.T) {
	failed := fakeAuthz("delete secrets")
	failed.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview).Spec.ResourceAttributes.Verb == "*" {
			return true, nil, errors.New("no answer")
		}
		return false, nil, nil
	})
	want := perms("", "secrets", "kfs", "get", "delete")
	denied := deniedPermissions(context.Background(), failed, want)
	if len(denied) != 1 || denied[0].verb != "delete" {
		t.Errorf("denied %v, want delete secrets", denied)
	}
}

func TestWriteChainsKeepsStepOrderAndNamesEveryFailure(t *testing.T) {
	obj := func(name string) any {
		return &corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kfs"}}
	}
	var written atomic.Int32
	writeObj := func(fail ...string) func(context.Context, any) (write.Outcome, error) {
		return func(_ context.Context, o any) (write.Outcome, error) {
			name := o.(*corev1.ServiceAccount).Name
			for _, f := range fail {
				if f == name {
					return "", fmt.Errorf("refused %s", name)
				}
			}
			written.Add(1)
			return write.Created, nil
		}
	}
	chains := [][]any{{obj("a1"), obj("a2")}, {obj("b1"), obj("b2")}}
	steps, err := writeChains(context.Background(), "member", writeObj(), chains)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range steps {
		got = append(got, s.Object)
	}
	if strings.Join(got, ",") != "ServiceAccount kfs/a1,ServiceAccount kfs/a2,ServiceAccount kfs/b1,ServiceAccount kfs/b2" {
		t.Errorf("steps %v", got)
	}

	// A failed first step ends its chain: a2 is never written.
	written.Store(0)
	steps, err = writeChains(context.Background(), "member", writeObj("a1"), chains)
	var se *StepError
	if !errors.As(err, &se) || se.Step != "member: ServiceAccount kfs/a1" {
		t.Fatalf("err %v", err)
	}
	for _, s := range steps {
		if s.Object == "ServiceAccount kfs/a2" {
			t.Errorf("a2 written after a1 failed")
		}
	}

	// Both chains failing at once: both are named, in step order, on one line.
	var both sync.WaitGroup
	both.Add(2)
	atOnce := func(_ context.Context, o any) (write.Outcome, error) {
		both.Done()
		both.Wait()
		return "", fmt.Errorf("refused %s", o.(*corev1.ServiceAccount).Name)
	}
	_, err = writeChains(context.Background(), "member", atOnce, chains)
	if err == nil || err.Error() != "member: ServiceAccount kfs/a1: refused a1; member: ServiceAccount kfs/b1: refused b1" {
		t.Errorf("err %v", err)
	}
	if !errors.As(err, &se) {
		t.Errorf("%v does not unwrap to a StepError", err)
	}
}

// The apiserver's status tells created (201) from an object that was there.
func TestApplyTellsCreatedFromTheStatus(t *testing.T) {
	var status atomic.Int32
	var rv atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPatch || r.Header.Get("Content-Type") != "application/apply-patch+yaml" || r.URL.Query().Get("fieldManager") != write.FieldManager {
			t.Errorf("unexpected request %s %s %s", r.Method, r.URL, r.Header.Get("Content-Type"))
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(status.Load()))
		fmt.Fprintf(w, `{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"sa","namespace":"kfs","resourceVersion":%q}}`, rv.Load().(string))
	}))
	defer srv.Close()
	c, err := NewCluster("test", &rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: metav1.ObjectMeta{Name: "sa", Namespace: "kfs"}}
	r := ref{"ServiceAccount", "kfs", "sa"}
	atVersion := func(rv string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind("ServiceAccount")
		u.SetName("sa")
		u.SetNamespace("kfs")
		u.SetResourceVersion(rv)
		return u
	}
	cases := []struct {
		name    string
		before  write.Before
		status  int
		rv      string
		want    write.Outcome
		created bool
	}{
		{"created", write.Before{}, http.StatusCreated, "1", write.Created, true},
		{"unchanged", write.Before{Object: atVersion("5")}, http.StatusOK, "5", write.Unchanged, false},
		{"configured", write.Before{Object: atVersion("5")}, http.StatusOK, "6", write.Configured, false},
		{"created by someone else since the checks", write.Before{}, http.StatusOK, "7", write.Configured, false},
	}
	for _, tc := range cases {
		w := &writer{client: c.Dynamic, before: map[ref]write.Before{r: tc.before}}
		status.Store(int32(tc.status))
		rv.Store(tc.rv)
		out, err := w.apply(context.Background(), sa)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if out != tc.want || (len(w.created) == 1) != tc.created {
			t.Errorf("%s: %s, recorded %v; want %s, recorded %v", tc.name, out, w.created, tc.want, tc.created)
		}
	}
}

func TestWatchTokenWaitsForTheTokenController(t *testing.T) {
	c := fake.NewClientset(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sa-token", Namespace: "kfs"}})
	secrets := c.CoreV1().Secrets("kfs")
	go func() {
		// The token controller fills the Secret once join watches it.
		for len(c.Actions()) < 2 {
			time.Sleep(time.Millisecond)
		}
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sa-token", Namespace: "kfs"}, Data: map[string][]byte{corev1.ServiceAccountTokenKey: []byte("t0k")}}
		_, _ = secrets.Update(context.Background(), s, metav1.UpdateOptions{})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	token, err := watchToken(ctx, secrets, "sa-token")
	if err != nil || string(token) != "t0k" {
		t.Fatalf("token %q, err %v", token, err)
	}
	// There at the first read: no watch at all.
	token, err = watchToken(ctx, secrets, "sa-token")
	if err != nil || string(token) != "t0k" {
		t.Fatalf("token %q, err %v", token, err)
	}
	// Never filled: it waits until the context ends.
	short, cancelShort := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancelShort()
	if _, err := watchToken(short, c.CoreV1().Secrets("other"), "sa-token"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v, want the deadline", err)
	}
}
