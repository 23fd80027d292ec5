package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"time"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/present"
)

//go:embed report.html.tmpl
var pageTemplate string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"prob":     present.Prob,
	"percent":  present.Percent,
	"count":    present.Count,
	"interval": present.Interval,
	"withUnit": present.WithUnit,
	"num": func(p *float64) string {
		if p == nil {
			return "-"
		}
		return present.Num(*p)
	},
	"color": func(i int) template.CSS { return template.CSS(hexColor(versionColor(i))) },
	"or": func(s, alt string) string {
		if s == "" {
			return alt
		}
		return s
	},
}).Parse(pageTemplate))

// metricSection is one metric: its plot and its table.
type metricSection struct {
	Name, Type, Unit, Objective string
	// Reward is the direction when the metric is the reward.
	Reward string
	Figure figure
	Rows   []metricRow
}

type metricRow struct {
	Index   int
	Version string
	present.MetricView
}

type pageData struct {
	D         present.Description
	Generated string
	Metrics   []metricSection
	Traffic   *figure
	Prob      *figure
	Versions  []versionRow
	// NoTraffic explains a missing traffic plot.
	NoTraffic string
}

type versionRow struct {
	Index int
	present.VersionView
}

// Render returns the report page of one experiment, dated now: ages and a
// running experiment's traffic are measured up to now. The page needs
// nothing but itself: styles are inline and plots are inline SVG.
func Render(in present.Input, now time.Time) ([]byte, error) {
	spec := in.Spec.Defaulted()
	st := in.State
	d := present.Describe(in, now)
	data := pageData{D: d, Generated: now.UTC().Format("2006-01-02 15:04:05 MST")}
	for i, v := range d.Versions {
		data.Versions = append(data.Versions, versionRow{i, v})
	}
	for j, m := range spec.Metrics {
		fig, err := densityFigure(spec, st, in.Assessment, j)
		if err != nil {
			return nil, fmt.Errorf("report for %s/%s: %w", in.Namespace, in.Service, err)
		}
		sec := metricSection{Name: m.Name, Type: m.Type, Unit: m.Unit, Objective: present.ObjectiveText(spec, m.Name), Figure: fig}
		if spec.Reward != nil && spec.Reward.Metric == m.Name {
			sec.Reward = spec.Reward.Direction
		}
		if m.Type == events.MetricQuantile {
			sec.Type = fmt.Sprintf("p%g", m.Quantile*100)
		}
		for i, v := range d.Versions {
			if j < len(v.Metrics) {
				sec.Rows = append(sec.Rows, metricRow{i, v.Version, v.Metrics[j]})
			}
		}
		data.Metrics = append(data.Metrics, sec)
	}
	// A performance experiment's split is nominal (all to its one
	// version): a flat line at 100% would say nothing.
	if spec.Kind == events.KindPerformance {
		data.NoTraffic = "Performance experiments do not move traffic."
	} else {
		tf, ok, err := trafficFigure(st, now)
		switch {
		case err != nil:
			return nil, fmt.Errorf("report for %s/%s: %w", in.Namespace, in.Service, err)
		case ok:
			data.Traffic = &tf
		default:
			data.NoTraffic = "No traffic recorded yet."
		}
	}
	pf, ok, err := probFigure(spec, st)
	if err != nil {
		return nil, fmt.Errorf("report for %s/%s: %w", in.Namespace, in.Service, err)
	}
	if ok {
		data.Prob = &pf
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("report for %s/%s: %w", in.Namespace, in.Service, err)
	}
	return buf.Bytes(), nil
}
