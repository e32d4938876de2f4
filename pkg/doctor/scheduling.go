package doctor

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
)

// schedulingGrace is how long an OpenMCPDeployment may wait for OpenMCP's
// scheduler before `check` calls it stuck: scheduling takes seconds.
const schedulingGrace = time.Minute

// schedulingState is what the host's OpenMCPDeployments show of OpenMCP's
// scheduler at work, whether or not its controllers run as Deployments.
type schedulingState struct {
	total, scheduled int
	stuck            []string // namespace/name of those waiting past the grace
	err              error
}

func (d *Doctor) readScheduling(ctx context.Context) schedulingState {
	k, _ := openmcpapi.KindByName("OpenMCPDeployment")
	list, err := d.Dynamic.Resource(k.GVR()).List(ctx, metav1.ListOptions{})
	if err != nil {
		return schedulingState{err: err}
	}
	var s schedulingState
	for _, item := range list.Items {
		s.total++
		done, _, _ := unstructured.NestedBool(item.Object, "status", "schedulingComplete")
		maps, _, _ := unstructured.NestedMap(item.Object, "status", "clusterMaps")
		if done || len(maps) > 0 {
			s.scheduled++
			continue
		}
		if time.Since(item.GetCreationTimestamp().Time) > schedulingGrace {
			s.stuck = append(s.stuck, item.GetNamespace()+"/"+item.GetName())
		}
	}
	sort.Strings(s.stuck)
	return s
}

// checkScheduling says whether OpenMCP's scheduler acts on what is placed:
// an OpenMCPDeployment left without a plan for a minute means it does not
// run, or finds no member it may schedule onto.
func (d *Doctor) checkScheduling(emit func(Finding), s schedulingState) {
	const item = "OpenMCP scheduling"
	switch {
	case s.err != nil:
		emit(Finding{CheckWarn, item, fmt.Sprintf("cannot list OpenMCPDeployments: %v", s.err)})
	case s.total == 0:
		emit(Finding{CheckOK, item, "no OpenMCPDeployment placed yet"})
	case len(s.stuck) > 0:
		emit(Finding{CheckFail, item, fmt.Sprintf("%d of %d OpenMCPDeployments have no plan after %s (%s): is openmcp-scheduler running, and does each member have an OpenMCPCluster with joinStatus JOIN (kubectl openmcp join)?",
			len(s.stuck), s.total, schedulingGrace, strings.Join(s.stuck, ", "))})
	default:
		emit(Finding{CheckOK, item, fmt.Sprintf("%d of %d OpenMCPDeployments scheduled", s.scheduled, s.total)})
	}
}
