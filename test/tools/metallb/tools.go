//go:build tools

package tools

import (
	_ "go.universe.tf/metallb/api/v1beta1"
	_ "go.universe.tf/metallb/controller"
)
