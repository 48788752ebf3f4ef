package scalebench

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// Target is the largest ratio of a row's figure at the largest size to its figure at the
// smallest that a row not bound to its tenant's own data may show.
const Target = 1.3

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(math.Ceil(float64(len(s))*p))-1)]
}

// Results are the samples of every run: Results[run][size][row].
type Results []map[string]map[string]Sample

// stat is one figure of a sample.
type stat func(Sample) (time.Duration, bool)

var (
	p50    stat = func(s Sample) (time.Duration, bool) { return pct(s.Lat, .5), len(s.Lat) > 0 }
	p99    stat = func(s Sample) (time.Duration, bool) { return pct(s.Lat, .99), len(s.Lat) > 0 }
	srvCPU stat = func(s Sample) (time.Duration, bool) { return s.Server, s.HasProc }
	pgCPUs stat = func(s Sample) (time.Duration, bool) { return s.PG, len(s.Lat) > 0 }
)

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// cell is a figure over the runs: its median and range.
type cell struct {
	med, lo, hi float64
	ok          bool
}

func (r Results) cell(size, row string, f stat) cell {
	var xs []float64
	for _, run := range r {
		if v, ok := f(run[size][row]); ok {
			xs = append(xs, float64(v))
		}
	}
	if len(xs) == 0 {
		return cell{}
	}
	return cell{median(xs), slices.Min(xs), slices.Max(xs), true}
}

// ratio is the largest size's figure over the smallest's, per run, over the runs.
func (r Results) ratio(first, last, row string, f stat) cell {
	var xs []float64
	for _, run := range r {
		a, ok1 := f(run[first][row])
		b, ok2 := f(run[last][row])
		if ok1 && ok2 && a > 0 {
			xs = append(xs, float64(b)/float64(a))
		}
	}
	if len(xs) == 0 {
		return cell{}
	}
	return cell{median(xs), slices.Min(xs), slices.Max(xs), true}
}

func dur(c cell) string {
	if !c.ok {
		return "–"
	}
	d := time.Duration(c.med)
	switch {
	case d >= 100*time.Millisecond:
		return fmt.Sprintf("%.0fms", d.Seconds()*1e3)
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.1fms", d.Seconds()*1e3)
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", d.Seconds()*1e3)
	}
	return fmt.Sprintf("%.0fµs", d.Seconds()*1e6)
}

func times(c cell, runs int) string {
	if !c.ok {
		return "–"
	}
	if runs == 1 {
		return fmt.Sprintf("%.2f", c.med)
	}
	return fmt.Sprintf("%.2f (%.2f–%.2f)", c.med, c.lo, c.hi)
}

// Print writes the two tables (latency; CPU per operation) for sizes, each figure the
// median over the runs, each ratio the median of the per-run ratios with their range.
// A row over Target is marked ✗ unless it is bound to its tenant's own data (†).
func (r Results) Print(w io.Writer, sizes []string) error {
	if len(r) == 0 || len(sizes) == 0 {
		return nil
	}
	p := &printer{w: w}
	first, last := sizes[0], sizes[len(sizes)-1]
	ratioName := last + "/" + first
	table := func(title string, a, b stat, an, bn string) {
		p.printf("\n%s (median of %d run(s); ratios: median (range) of the per-run ratios)\n", title, len(r))
		head := []string{fmt.Sprintf("%-52s", "row")}
		for _, pre := range []string{an, bn} {
			for _, s := range sizes {
				head = append(head, fmt.Sprintf("%9s", s+" "+pre))
			}
			head = append(head, fmt.Sprintf("%-20s", " "+ratioName+" "+pre))
		}
		p.printf("%s\n", strings.Join(head, " "))
		for _, row := range Rows {
			line := []string{fmt.Sprintf("%-52s", row.Name)}
			for _, f := range []stat{a, b} {
				for _, s := range sizes {
					line = append(line, fmt.Sprintf("%9s", dur(r.cell(s, row.Name, f))))
				}
				c := r.ratio(first, last, row.Name, f)
				mark := " "
				if c.ok && c.med > Target {
					mark = "✗"
					if row.OwnData != "" {
						mark = "†"
					}
				}
				line = append(line, fmt.Sprintf("%s%-19s", mark, times(c, len(r))))
			}
			p.printf("%s\n", strings.Join(line, " "))
		}
	}
	table("Latency per operation", p50, p99, "p50", "p99")
	table("CPU per operation (server process; PostgreSQL backends)", srvCPU, pgCPUs, "srv", "pg")
	p.printf("\n✗: %s/%s above %.1f. †: above %.1f, but bound to the tenant's own data:\n", last, first, Target, Target)
	for _, row := range Rows {
		if row.OwnData != "" {
			p.printf("  %s: %s\n", row.Name, row.OwnData)
		}
	}
	return p.err
}

// printer writes formatted lines to w until the first error, which it keeps.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, a ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, a...)
	}
}
