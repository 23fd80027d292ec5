// Command eventing-controllers runs, in one host process, the Knative
// Eventing reconcilers that iter8's config/ needs: channel, subscription,
// eventpolicy and pingsource (from eventing's cmd/controller), broker and
// trigger (from cmd/mtchannel_broker) and the InMemoryChannel reconciler
// (from cmd/in_memory/channel_controller, without its webhook).
//
// One process instead of three saves two runtimes' worth of memory and
// start-up on a 2-core machine. Health probes are off because sharedmain
// hard-wires them to :8080, which the IMC dispatcher must own.
package main

import (
	kubefilteredfactory "knative.dev/pkg/client/injection/kube/informers/factory/filtered"
	"knative.dev/pkg/injection/sharedmain"
	"knative.dev/pkg/signals"

	"knative.dev/eventing/pkg/auth"
	"knative.dev/eventing/pkg/eventingtls"
	"knative.dev/eventing/pkg/reconciler/broker"
	mttrigger "knative.dev/eventing/pkg/reconciler/broker/trigger"
	"knative.dev/eventing/pkg/reconciler/channel"
	"knative.dev/eventing/pkg/reconciler/eventpolicy"
	imc "knative.dev/eventing/pkg/reconciler/inmemorychannel/controller"
	"knative.dev/eventing/pkg/reconciler/pingsource"
	"knative.dev/eventing/pkg/reconciler/subscription"
)

func main() {
	// The stock mains watch only the Secrets and ConfigMaps carrying these
	// labels; without the selectors the filtered informers find no factory.
	ctx := kubefilteredfactory.WithSelectors(signals.NewContext(),
		auth.OIDCLabelSelector,
		eventingtls.TrustBundleLabelSelector,
	)
	ctx = sharedmain.WithHealthProbesDisabled(ctx)
	sharedmain.MainWithContext(ctx, "eventing-controllers",
		channel.NewController,
		subscription.NewController,
		eventpolicy.NewController,
		pingsource.NewController,
		broker.NewController,
		mttrigger.NewController,
		imc.NewController,
	)
}
