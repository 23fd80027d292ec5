#!/usr/bin/env bash
# Builds the local control plane's programs into bin/ from source, as Go
# tools pinned by the modules beside this script (tools/kube, tools/knative,
# tools/kn; each go.mod's replaces follow the upstream project's own go.mod,
# which `go build` of a tool does not read). A tool is skipped when its
# binary is newer than its module's go.mod and go.sum.
#
# Each build shows why the tool is needed, a summary of the module download,
# and the packages compiled out of the total, with the elapsed time. How long
# a cold build (empty module and build caches) takes is in COLD below and in
# README ("Two commands"); a warm build takes seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/bin"
mkdir -p "$bin"
kver=v1.37.2
ldflags="-X k8s.io/component-base/version.gitVersion=$kver -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 -X k8s.io/client-go/pkg/version.gitVersion=$kver -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=37"

# WHY each tool is built.
declare -A WHY=(
  [etcd]="the store behind kube-apiserver"
  [kube-apiserver]="the real Kubernetes API server that the tests and the demo run against"
  [knative-controller]="the real Knative Serving controller: Services become Revisions and Routes, spec.traffic becomes status.traffic"
  [kn]="the real kn CLI: the tests run kn iter8 through kn's plugin discovery, and the demo ends with kn service describe"
  [kubectl]="the real kubectl: a test runs README's install command (kubectl apply -k config/...) exactly as written"
  [eventing-controllers]="Knative Eventing's Broker, Trigger, Channel, Subscription, EventPolicy and PingSource reconcilers, in one process"
  [broker-ingress]="the Broker's ingress: where kn iter8 start and the apps' metric windows send their events"
  [broker-filter]="the Broker's filter: it delivers each event to the Triggers that match, with retries and dead letters"
  [imc-dispatcher]="the InMemoryChannel dispatcher behind the Broker"
  [mtping]="the PingSource adapter: it sends the minute ticks that drive the metrics collector"
)
# COLD is each tool's cold build on a 2-core machine (module download
# included; later tools reuse modules and packages the earlier ones
# fetched), measured building them in this order with empty caches on a
# nearly idle machine (load average 3 to 8, 2026-11-30); a machine busy
# with other builds can take several times longer. README's table has the
# same figures.
declare -A COLD=(
  [etcd]="2.5 min"
  [kube-apiserver]="12 min"
  [kubectl]="1 min"
  [knative-controller]="2.5 min"
  [eventing-controllers]="1 min"
  [broker-ingress]="10 s"
  [broker-filter]="10 s"
  [imc-dispatcher]="10 s"
  [mtping]="10 s"
  [kn]="2 min"
)

tty=false
[[ -t 1 ]] && tty=true

# elapsed prints SECONDS-$1 as 4m07s.
elapsed() { local s=$((SECONDS - $1)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

# downloads reads `go: downloading` lines and prints a count now and then and
# a summary at the end, instead of hundreds of lines; anything else (an
# error) is passed through.
downloads() {
  local start=$1 n=0 last=$SECONDS line
  while IFS= read -r line; do
    if [[ $line == "go: downloading "* ]]; then
      n=$((n + 1))
      if ((SECONDS - last >= 15)); then
        echo "tools:   modules: $n downloaded so far ($(elapsed "$start"))"
        last=$SECONDS
      fi
    else
      echo "$line" >&2
    fi
  done
  if ((n > 0)); then
    echo "tools:   modules: $n downloaded in $(elapsed "$start")"
  else
    echo "tools:   modules: all in the module cache already"
  fi
}

# compiled reads `go build -v` (one import path per package compiled) and
# shows the count against total: in place on a terminal, else a line every
# 10% or 60 s. Anything else (a compiler error) is passed through.
compiled() {
  local name=$1 total=$2 start=$3 n=0 last=$SECONDS step=$(($2 / 10 + 1)) line msg
  while IFS= read -r line; do
    if [[ $line =~ ^[A-Za-z0-9._~/+-]+$ ]]; then
      n=$((n + 1))
      msg="tools:   $name: $n of $total packages compiled ($((100 * n / total))%), $(elapsed "$start")"
      if $tty; then
        printf '\r%s ' "$msg"
      elif ((n % step == 0 || SECONDS - last >= 60)); then
        echo "$msg"
        last=$SECONDS
      fi
    else
      $tty && printf '\n'
      echo "$line" >&2
    fi
  done
  $tty && printf '\n'
  echo "tools:   $name: $n of $total packages compiled, the rest from Go's build cache"
}

# build NAME MODULE_DIR PACKAGE [ldflags]
build() {
  local name=$1 dir=$2 pkg=$3 flags=${4:-}
  local out="$bin/$name"
  if [[ -x "$out" && "$out" -nt "$dir/go.mod" && "$out" -nt "$dir/go.sum" ]]; then
    echo "tools: $name is current"
    return
  fi
  local start=$SECONDS deps
  echo "tools: building $name: ${WHY[$name]:-a program the local stack runs}"
  echo "tools:   $pkg, pinned by ${dir#"$root"/}/go.mod; a cold build takes about ${COLD[$name]:-minutes} on 2 cores, a warm one seconds"
  deps=$(mktemp)
  # go list resolves and downloads every module the package needs, and
  # counts the packages the build will compile when nothing is cached.
  if ! (cd "$dir" && go list -deps -f '{{.ImportPath}}' "$pkg" 2>&1 >"$deps") | downloads "$start"; then
    rm -f "$deps"
    echo "tools: $name: resolving $pkg failed" >&2
    return 1
  fi
  local total
  total=$(wc -l <"$deps")
  rm -f "$deps"
  if ! (cd "$dir" && go build -v -trimpath -ldflags "$flags" -o "$out.tmp" "$pkg" 2>&1) | compiled "$name" "$total" "$start"; then
    echo "tools: $name: go build failed" >&2
    return 1
  fi
  mv "$out.tmp" "$out"
  echo "tools: built $name in $(elapsed "$start")"
}

# own [-o DIR] PACKAGE... builds iter8's own packages with the same
# progress as the tools: make build, ./cmd/... into bin/; make test, every
# package but the mains (nothing to link), so that the test binaries then
# compile only their tests.
own() {
  local start=$SECONDS deps total out=()
  if [[ ${1:-} == -o ]]; then
    out=(-o "$2")
    shift 2
  fi
  local what="$*"
  (($# > 3)) && what="$# packages"
  echo "build: iter8's $what${out:+ into ${out[1]}}; cold, a few minutes on 2 cores (module download included), warm, seconds"
  deps=$(mktemp)
  if ! (cd "$root" && go list -deps -f '{{.ImportPath}}' "$@" 2>&1 >"$deps") | downloads "$start"; then
    rm -f "$deps"
    echo "build: resolving iter8's packages failed" >&2
    return 1
  fi
  total=$(wc -l <"$deps")
  rm -f "$deps"
  if ! (cd "$root" && go build -buildvcs=auto -v "${out[@]}" "$@" 2>&1) | compiled iter8 "$total" "$start"; then
    echo "build: go build of iter8's packages failed" >&2
    return 1
  fi
  echo "build: done in $(elapsed "$start")"
}
case ${1:-} in
own)
  shift
  own "$@"
  exit
  ;;
own-libraries)
  # Every package of the module but the mains and the e2e tests.
  mapfile -t libs < <(cd "$root" && go list -f '{{if ne .Name "main"}}{{.ImportPath}}{{end}}' ./... | grep -v /test/e2e)
  own "${libs[@]}"
  exit
  ;;
esac

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
