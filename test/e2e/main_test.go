package e2e

import (
	"testing"

	"github.com/iter8-knative/iter8/test/cluster"
)

func TestMain(m *testing.M) { cluster.Main(m, cluster.Options{Eventing: true}) }
