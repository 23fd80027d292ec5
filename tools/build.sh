#!/usr/bin/env bash
# Builds the test control plane's programs into bin/ as Go tools, skipping each
# one whose binary is newer than the tools module that pins it. A cold build
# (empty module and build caches) takes 20-30 minutes on 2 cores; a warm one
# takes seconds. See ../shared/cluster/README.md for why the replaces exist.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/bin"
mkdir -p "$bin"
kver=v1.37.2
ldflags="-X k8s.io/component-base/version.gitVersion=$kver -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 -X k8s.io/client-go/pkg/version.gitVersion=$kver -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=37"

# build NAME MODULE_DIR PACKAGE [ldflags]
build() {
  local name=$1 dir=$2 pkg=$3 flags=${4:-}
  local out="$bin/$name"
  if [[ -x "$out" && "$out" -nt "$dir/go.mod" && "$out" -nt "$dir/go.sum" ]]; then
    echo "tools: $name is current"
    return
  fi
  echo "tools: building $name from $pkg (cold: minutes; progress is silent)"
  local start=$SECONDS
  (cd "$dir" && go build -trimpath -ldflags "$flags" -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
  echo "tools: built $name in $((SECONDS - start))s"
}

build etcd "$root/tools/kube" go.etcd.io/etcd/server/v3
build kube-apiserver "$root/tools/kube" k8s.io/kubernetes/cmd/kube-apiserver "$ldflags"
build kubectl "$root/tools/kube" k8s.io/kubernetes/cmd/kubectl "$ldflags"
# Knative Serving and Eventing share one module, so their common packages
# (knative.dev/pkg, client-go) compile once. The small mains under
# tools/knative/cmd turn off the health-probe server that Knative hard-wires
# to :8080, which the stock IMC dispatcher must own; touch tools/knative/go.mod
# after editing them.
build knative-controller "$root/tools/knative" ./cmd/serving-controller
build eventing-controllers "$root/tools/knative" ./cmd/eventing-controllers
build broker-ingress "$root/tools/knative" knative.dev/eventing/cmd/broker/ingress
build broker-filter "$root/tools/knative" knative.dev/eventing/cmd/broker/filter
build imc-dispatcher "$root/tools/knative" knative.dev/eventing/cmd/in_memory/channel_dispatcher
build mtping "$root/tools/knative" ./cmd/mtping
if [[ "${ITER8_TOOLS_KN:-1}" == 1 ]]; then
  build kn "$root/tools/kn" knative.dev/client/cmd/kn
fi
